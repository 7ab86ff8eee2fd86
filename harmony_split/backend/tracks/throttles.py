"""Abuse limits: sign-in attempts per user name from one client address and per client address, uploads per
account per hour (DRF rate throttles over the shared cache, see ``CACHES`` in settings), and stored megabytes per
account.

Every refusal is :class:`LimitReached`: 429, a ``Retry-After`` header in whole seconds and ``{"error": "<one
line>"}``. Sign-in limits count every attempt, successful or not (DRF throttles count requests when they are let
through): counting failures alone would need a counter of our own, and the limits are generous for a person.
The name limit is per name *and* address (as django-axes's ``["username", "ip_address"]``): counted per name
alone, anyone could lock a person out of their account with a few wrong passwords from a few addresses.
They guard the API's sign-ins (``throttle_classes``) and Django's own login pages (:func:`sign_in_limited`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.timesince import timeuntil
from rest_framework.exceptions import APIException, Throttled
from rest_framework.throttling import SimpleRateThrottle

from . import storage
from .errors import json_error
from .models import Separation, Track
from .uploads import UploadTooLarge

logger = logging.getLogger(__name__)

HOUR = 3600  # seconds
MB = 1_000_000  # bytes


def in_words(seconds: int) -> str:
    """``seconds`` in words: ``"42 seconds"`` under two minutes, else Django's wording of the time left in two
    units at most (``"1 hour, 59 minutes"``, ``"6 days"``)."""
    if seconds < 120:
        return f"{seconds} seconds"
    now = timezone.now()
    return timeuntil(now + timedelta(seconds=seconds), now, depth=2).replace("\xa0", " ")  # plain spaces


class LimitReached(Throttled):
    """429 with ``Retry-After: <wait>`` (whole seconds, at least 1) and the one-line ``message``, in which
    ``{wait}`` becomes the wait in words."""

    def __init__(self, message: str, wait: float) -> None:
        self.wait = max(1, math.ceil(wait))
        APIException.__init__(self, message.format(wait=in_words(self.wait)))


class HourlyThrottle(SimpleRateThrottle):
    """A DRF rate throttle allowing ``settings.<setting>`` requests per hour (0: no limit), read when the throttle
    is made (each request), so that a changed setting applies at once. Safe methods are never counted."""

    setting = ""
    reason = ""  # the first half of the refusal, e.g. "too many uploads"

    def get_rate(self) -> str | None:
        limit = int(getattr(settings, self.setting))
        return f"{limit}/hour" if limit > 0 else None

    def get_cache_key(self, request: HttpRequest, view: object) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        ident = self.ident(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}

    def ident(self, request: HttpRequest) -> str | None:
        raise NotImplementedError

    def refusal(self) -> str:
        return f"{self.reason} (the limit is {self.num_requests} an hour): try again in {{wait}}"


class SignInAddressThrottle(HourlyThrottle):
    """Sign-in attempts from one client address (``REMOTE_ADDR``, or the entry of ``X-Forwarded-For`` that the
    ``HARMONY_TRUSTED_PROXIES`` proxies vouch for: DRF's ``NUM_PROXIES``)."""

    scope = "sign_in_address"
    setting = "HARMONY_SIGN_INS_PER_ADDRESS"
    reason = "too many sign-in attempts from your address"

    def ident(self, request: HttpRequest) -> str | None:
        return self.get_ident(request)


def submitted_name(request: HttpRequest) -> str | None:
    """The ``username`` of a sign-in request: DRF's parsed body (JSON or form), or a Django form post."""
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    name = data.get("username") if isinstance(data, Mapping) else None
    return None if name is None else str(name)


class SignInNameThrottle(HourlyThrottle):
    """Sign-in attempts for one user name from one client address (that of :class:`SignInAddressThrottle`). The
    name is normalised (NFKC, case-folded, trimmed) and hashed with the address into the cache key (no names in
    the cache)."""

    scope = "sign_in_name"
    setting = "HARMONY_SIGN_INS_PER_NAME"
    reason = "too many sign-in attempts for this user name from your address"

    def ident(self, request: HttpRequest) -> str | None:
        name = submitted_name(request)
        if name is None:
            return None
        normal = unicodedata.normalize("NFKC", name).casefold().strip()
        return hashlib.sha256(f"{self.get_ident(request)}\n{normal}".encode()).hexdigest()


class UploadThrottle(HourlyThrottle):
    """Upload attempts (``POST /api/tracks/``) per account, accepted or not."""

    scope = "uploads"
    setting = "HARMONY_UPLOADS_PER_HOUR"
    reason = "too many uploads"

    def ident(self, request: HttpRequest) -> str | None:
        user = request.user
        return str(user.pk) if user.is_authenticated else None


SIGN_IN = (SignInAddressThrottle, SignInNameThrottle)  # the address first: a malformed body still counts there


def check(throttles: Sequence[type[HourlyThrottle]], request: HttpRequest, view: object = None) -> None:
    """Count ``request`` against every throttle (as DRF does); raise :class:`LimitReached` naming the limit that
    frees last if any refuses it."""
    refused = []
    for throttle in (cls() for cls in throttles):
        if not throttle.allow_request(request, view):
            refused.append(throttle)
    if refused:
        last = max(refused, key=lambda throttle: throttle.wait() or 0)
        exc = LimitReached(last.refusal(), last.wait() or HOUR)
        logger.warning("refused %s %s: %s", request.method, request.path, exc.detail)
        raise exc


class Limited:
    """An APIView mixin: its ``throttle_classes`` refuse with :class:`LimitReached` (which names the limit)."""

    throttle_classes: Sequence[type[HourlyThrottle]] = ()

    def check_throttles(self, request: HttpRequest) -> None:
        check(self.throttle_classes, request, self)


def sign_in_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's login views (``/accounts/login/``, ``/admin/login/``) under the sign-in limits of the API."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            check(SIGN_IN, request)
        except LimitReached as refused:
            response = json_error(refused.status_code, str(refused.detail))
            response["Retry-After"] = str(refused.wait)
            return response
        return view(request, *args, **kwargs)

    return limited


def check_storage(user: object, incoming: int) -> None:
    """Refuse an upload of ``incoming`` bytes (the file, and once probed its stems' estimate) that would take
    ``user``'s files (uploads and stems on disk, in ``HARMONY_DATA_DIR``, and the estimated stems of their tracks
    still queued or running, ``storage.stems_bytes``) past ``HARMONY_MAX_STORED_MB``: :class:`LimitReached`, to
    retry when the oldest track reaches the retention age (``HARMONY_RETENTION_DAYS``; at least a minute). A file
    larger than the whole allowance can never fit: 413."""
    quota = settings.HARMONY_MAX_STORED_MB
    if quota <= 0:
        return
    if incoming > quota * MB:
        raise UploadTooLarge(f"file: it needs {incoming / MB:.1f} MB (with its stems, once read), more than your "
                             f"whole storage limit of {quota:g} MB")
    tracks = list(Track.objects.filter(owner=user).order_by("created").values_list("pk", "created"))
    used = sum(storage.folder_bytes(pk) for pk, _ in tracks) + storage.pending_stems_bytes(
        Track.objects.filter(owner=user, separation__status__in=(Separation.Status.QUEUED, Separation.Status.RUNNING))
        .values_list("duration_s", "sample_rate", "channels", "separation__format"))
    if used + incoming <= quota * MB:
        return
    expires = tracks[0][1] + timedelta(days=settings.HARMONY_RETENTION_DAYS)  # used > 0: there is a track
    wait = max(60.0, (expires - timezone.now()).total_seconds())
    raise LimitReached(f"file: it needs {incoming / MB:.1f} MB (with its stems, once read) and your tracks take "
                       f"{used / MB:.1f} MB (stems still to come included), over your "
                       f"storage limit of {quota:g} MB: delete tracks to free space now, or try again in {{wait}}, "
                       "when the oldest expires", wait)
