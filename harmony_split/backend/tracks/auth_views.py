"""Signing in. Scripts: ``POST /api/auth/token/`` gives a DRF token (``Authorization: Token <key>``).
The browser app: session cookies with Django's CSRF protection, through ``GET /api/auth/me/`` (who am I; sets
the ``csrftoken`` cookie), ``POST /api/auth/login/`` and ``POST /api/auth/logout/`` (both need the
``X-CSRFToken`` header). Django's own login page is at ``/accounts/login/``.

Every sign-in path counts against the limits per user name and per client address (:mod:`.throttles`).
"""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import CredentialsSerializer, ErrorSerializer, SessionSerializer, TokenSerializer
from .throttles import SIGN_IN, Limited

BAD_LOGIN = "unable to sign in with this user name and password"


def _user(request: Request):  # noqa: ANN202
    form = CredentialsSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    user = authenticate(request._request, **form.validated_data)
    if user is None:
        raise ValidationError(BAD_LOGIN)
    return user


class ObtainToken(Limited, APIView):
    """Exchange a user name and password for an API token (the same token on every call)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = SIGN_IN

    @extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer, 400: ErrorSerializer,
                                                             429: ErrorSerializer})
    def post(self, request: Request) -> Response:
        token, _ = Token.objects.get_or_create(user=_user(request))
        return Response({"token": token.key})


def _session(request: Request) -> dict:
    user = request.user
    return {"username": user.get_username() if user.is_authenticated else None,
            "authenticated": bool(user.is_authenticated)}


@method_decorator(ensure_csrf_cookie, name="dispatch")
class Me(APIView):
    """Who the session belongs to (``username`` null when signed out); also sets the CSRF cookie."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: SessionSerializer})
    def get(self, request: Request) -> Response:
        return Response(_session(request))


@method_decorator(csrf_protect, name="dispatch")
class Login(Limited, APIView):
    """Start a browser session (CSRF-protected)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = SIGN_IN

    @extend_schema(request=CredentialsSerializer, responses={200: SessionSerializer, 400: ErrorSerializer,
                                                             403: ErrorSerializer, 429: ErrorSerializer})
    def post(self, request: Request) -> Response:
        user = _user(request)
        login(request._request, user)
        return Response({"username": user.get_username(), "authenticated": True})


@method_decorator(csrf_protect, name="dispatch")
class Logout(APIView):
    """End the browser session (CSRF-protected)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None, 403: ErrorSerializer})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=204)
