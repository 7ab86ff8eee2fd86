"""The JSON API over tracks, models and health (auth views: :mod:`.auth_views`).

A track belongs to its uploader: every query is filtered by owner, so another user's track is 404, like one
that does not exist. :class:`TrackViewSet` serves every ``/api/tracks/`` path (routed in ``server/urls.py``),
for the CLI-like core API and the browser app's mixer alike.
"""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from Input.audio.probe import AudioError, probe
from Input.audio.stream import format_problem
from Utils import atomic_open

from . import device_models, files, jobs, separators, storage
from .models import Separation, Track, library_key
from .serializers import (
    ErrorSerializer,
    HealthSerializer,
    ModelSerializer,
    TrackSerializer,
    UploadSerializer,
)
from .throttles import Limited, UploadThrottle, check_storage

S = Separation.Status
ERRORS = {code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 404, 409, 413, 416, 429)}
MIXTURE = "mixture"  # the uploaded original, served like a stem for the mixer
FILE_ACTIONS = ("stems", "download")  # answer files; their errors are JSON whatever the client accepts
AUDIO = {(code, "application/octet-stream"): OpenApiTypes.BINARY for code in (200, 206)}


class TooManyJobs(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_jobs"


class NotReady(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_ready"


class LibrarySearch(filters.SearchFilter):
    """DRF's ``search`` parameter over the names' :func:`.models.library_key` (no case, no accents)."""

    def get_search_terms(self, request: Request) -> list[str]:
        return [library_key(term) for term in super().get_search_terms(request)]


class LibraryOrdering(filters.OrderingFilter):
    """DRF's ``ordering`` parameter, with names compared by :func:`.models.library_key` (as a musician reads them)
    and ties broken by upload time and id, so that every track is on exactly one page."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: object) -> QuerySet:
        keys = []
        for field in self.get_ordering(request, queryset, view) or ():
            name, descending = field.lstrip("-"), field.startswith("-")
            key = F("name_key" if name == "name" else name)
            keys.append(key.desc() if descending else key.asc())
        return queryset.order_by(*keys, "-created", "id")


@extend_schema_view(
    list=extend_schema(responses={200: TrackSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: TrackSerializer, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
class TrackViewSet(Limited, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):
    """The caller's tracks. ``GET /api/tracks/``: newest first, paginated (``page``), searched by name
    (``search``: every word must occur, any case) and sorted by ``ordering`` (``created``, ``name`` or
    ``duration_s``; ``-`` first for descending); ``POST``: upload a song and queue its
    separation (within the uploads per hour, the queued jobs and the stored megabytes allowed per account).
    ``GET``/``DELETE /api/tracks/<id>/``: one track / cancel its job if queued or running, then delete its files
    and row. Actions: ``cancel/``, ``stems/<stem>``, ``download``."""

    serializer_class = TrackSerializer
    throttle_classes = (UploadThrottle,)
    filter_backends = (LibrarySearch, LibraryOrdering)
    search_fields = ("name_key",)
    ordering_fields = ("created", "name", "duration_s")
    ordering = ("-created",)
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Track]:
        return Track.objects.filter(owner=self.request.user).select_related("separation")

    def check_throttles(self, request: Request) -> None:
        if self.action == "create":  # only uploads count against the upload limits
            super().check_throttles(request)

    def perform_content_negotiation(self, request: Request, force: bool = False):  # noqa: ANN201
        return super().perform_content_negotiation(request, force=force or self.action in FILE_ACTIONS)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: TrackSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        _check_queue(request.user)  # cheap refusals first; both checks are made again where the track is created
        form = UploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload, fmt, quality = (form.validated_data[k] for k in ("file", "format", "quality"))
        if upload.size == 0:
            raise ValidationError({"file": "empty file"})
        check_storage(request.user, upload.size)  # before the file is copied into the data folder
        model_id = form.validated_data.get("model") or separators.default_model_id()
        if model_id is None:
            raise ValidationError({"model": "no trained model is available on this server (run `make demo`)"})
        if separators.model_folder(model_id) is None:
            raise ValidationError({"model": f"unknown model id {model_id!r} (see GET /api/models/)"})
        track = self._store(upload, model_id, fmt, quality)
        return Response(TrackSerializer(track).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Track) -> None:
        jobs.delete_track(instance)

    @extend_schema(request=None, responses={200: TrackSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="cancel/", url_name="cancel")
    def cancel(self, request: Request, pk: uuid.UUID) -> Response:
        """Cancel the track's job if it is queued or running (a running job stops at its next block); the track
        stays, with status ``cancelled``. A finished job is left as it is. Answers the track."""
        track = self.get_object()
        jobs.cancel_track(track)
        track.separation.refresh_from_db()
        return Response(TrackSerializer(track).data)

    @extend_schema(parameters=[OpenApiParameter("stem", str, OpenApiParameter.PATH,
                                                enum=[*jobs.STEMS, MIXTURE])],
                   responses={**AUDIO, **ERRORS})
    @action(detail=True, methods=["get"], url_path="stems/<str:stem>", url_name="stem")
    def stems(self, request: Request, pk: uuid.UUID, stem: str) -> HttpResponse:
        """One stem as an attachment (``<original name>_<stem>.<format>``), or ``mixture``: the uploaded original
        (``<original name>_mixture.<its extension>``); with HTTP Range support, once the track is done."""
        if stem not in (*jobs.STEMS, MIXTURE):
            raise NotFound(f"no stem {stem!r} (vocals or accompaniment)")
        track = self._done_track()
        if stem == MIXTURE:
            suffix = Path(track.upload).suffix.lower()
            return files.file_response(request, storage.track_dir(track.pk) / track.upload,
                                       storage.download_name(track.name, f"{MIXTURE}{suffix}"),
                                       mimetypes.types_map.get(suffix, "application/octet-stream"))
        fmt = track.separation.format
        path = storage.stem_path(track.pk, stem, fmt)
        if not path.is_file():
            raise NotFound(f"the {stem} file of this track is missing on the server")
        content_type = mimetypes.types_map.get(f".{fmt}", "application/octet-stream")
        return files.file_response(request, path, storage.download_name(track.name, f"{stem}.{fmt}"), content_type)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, **ERRORS})
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request: Request, pk: uuid.UUID) -> HttpResponse:
        """Both stems in one zip (``<original name>_stems.zip``)."""
        track = self._done_track()
        fmt = track.separation.format
        members = {storage.download_name(track.name, f"{stem}.{fmt}"): storage.stem_path(track.pk, stem, fmt)
                   for stem in jobs.STEMS}
        archive = files.zip_of(storage.track_dir(track.pk) / "stems.zip", members)
        return files.file_response(request, archive, storage.download_name(track.name, "stems.zip"),
                                   "application/zip")

    def _done_track(self) -> Track:
        track = self.get_object()
        if track.separation.status != S.DONE:
            raise NotReady(f"the track is {track.separation.status}: its stems exist once it is done")
        return track

    def _store(self, upload, model_id: str, fmt: str, quality: str) -> Track:  # noqa: ANN001 -- an UploadedFile
        """Copy the upload under a generated name, probe it by decoding its header, and queue it."""
        track_id = uuid.uuid4()
        folder = storage.track_dir(track_id)
        folder.mkdir(parents=True)
        stored = folder / storage.upload_name(upload.name or "")
        try:
            with atomic_open(stored, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            sample_rate, channels, duration = self._probe(stored)
            problem = format_problem(fmt, sample_rate, channels)
            if problem is not None:
                raise ValidationError({"format": problem})
            with transaction.atomic():
                # One upload of an account at a time from here to the new row, so that two at once cannot both
                # pass the limits: the owner's row is locked (PostgreSQL; SQLite's IMMEDIATE transactions
                # serialise every writer anyway).
                list(get_user_model().objects.select_for_update().filter(pk=self.request.user.pk).values_list("pk"))
                _check_queue(self.request.user)
                # The stems it will make count against the quota now, not once they are written.
                check_storage(self.request.user,
                              upload.size + storage.stems_bytes(duration, sample_rate, channels, fmt))
                track = Track.objects.create(
                    id=track_id, owner=self.request.user, name=storage.safe_name(upload.name or ""),
                    upload=stored.name, duration_s=duration, sample_rate=sample_rate, channels=channels)
                Separation.objects.create(track=track, model=model_id, format=fmt, quality=quality)
                jobs.enqueue(track.id)
        except BaseException:
            storage.remove_track_files(track_id)
            raise
        return Track.objects.select_related("separation").get(pk=track_id)

    @staticmethod
    def _probe(path) -> tuple[int, int, float]:  # noqa: ANN001
        if path.suffix == ".bin":
            raise ValidationError({"file": "not a supported audio file (send wav, flac, ogg, aiff, mp3, m4a or mp4)"})
        try:
            sample_rate, channels, duration = probe(path)
        except AudioError as err:
            raise ValidationError({"file": f"not readable audio ({err.reason})"}) from err
        if not duration > 0:
            raise ValidationError({"file": "contains no audio"})
        limit = settings.HARMONY_MAX_MINUTES
        if duration > limit * 60:
            raise ValidationError({"file": f"{duration / 60:.1f} minutes long; the limit is {limit:g} minutes"})
        if channels > settings.HARMONY_MAX_CHANNELS:
            raise ValidationError({"file": f"{channels} channels; this server separates songs of at most "
                                           f"{settings.HARMONY_MAX_CHANNELS} (mix it down to stereo)"})
        if sample_rate > settings.HARMONY_MAX_SAMPLE_RATE:
            raise ValidationError({"file": f"sampled at {sample_rate} Hz; the limit is "
                                           f"{settings.HARMONY_MAX_SAMPLE_RATE} Hz"})
        return sample_rate, channels, duration


def _check_queue(user: object) -> None:
    """Refuse (429) an upload by ``user`` when ``HARMONY_MAX_QUEUED`` of their tracks are queued or running."""
    active = Separation.objects.filter(track__owner=user, status__in=Separation.ACTIVE).count()
    if active >= settings.HARMONY_MAX_QUEUED:
        raise TooManyJobs(f"you have {active} tracks queued or running (the limit is "
                          f"{settings.HARMONY_MAX_QUEUED}): wait for one to finish or delete one")


class ModelList(APIView):
    """The separators this server offers; ``default`` marks the one used when an upload names none."""

    @extend_schema(responses={200: ModelSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        return Response([{**model, "device": device_models.device_field(model["id"])}
                         for model in separators.list_models()])


class ModelOnnx(APIView):
    """A model's ONNX export (``tracks.device_models``), for separation in the browser. The URL carries the file's
    digest, so the answer may be cached for a year; an outdated digest (the model was exported again) is a 404."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request: Request, model_id: str, digest: str) -> HttpResponse:
        export = device_models.onnx_export(model_id)
        if export is None:
            raise NotFound(f"model {model_id!r} has no ONNX export on this server")
        if export.digest != digest:
            raise NotFound(f"model {model_id!r} was exported again: reload the page for its new file")
        response = FileResponse(open(export.path, "rb"), content_type="application/octet-stream")  # noqa: SIM115
        response["Cache-Control"] = device_models.CACHE_CONTROL
        response["ETag"] = f'"{export.digest}"'
        return response


class Health(APIView):
    """Liveness for load balancers and people: no authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HealthSerializer})
    def get(self, request: Request) -> Response:
        queued = Separation.objects.filter(status=S.QUEUED).count()
        return Response({"status": "ok", "queue": queued, "workers_seen": jobs.live_workers(),
                         "max_upload_mb": settings.HARMONY_MAX_UPLOAD_MB})
