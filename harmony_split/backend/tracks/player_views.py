"""What the browser app needs beyond the core API: the uploaded original as the mixer's ``mixture``
(``GET /api/tracks/<id>/stems/mixture``) and cancelling a job while keeping its track
(``POST /api/tracks/<id>/cancel/``; ``DELETE`` cancels and deletes)."""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import files, jobs, storage
from .serializers import TrackSerializer
from .views import ERRORS, DownloadView, owned_tracks

MIXTURE = "mixture"


class MixtureDownload(DownloadView):
    """The uploaded original as an attachment (``<original name>_mixture.<its extension>``), with Range support;
    available once the track is done, like the stems it is compared with."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              (206, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request: Request, pk: uuid.UUID):  # noqa: ANN201
        track = self.done_track(request, pk)
        suffix = Path(track.upload).suffix.lower()
        return files.file_response(request, storage.track_dir(track.pk) / track.upload,
                                   storage.download_name(track.name, f"{MIXTURE}{suffix}"),
                                   mimetypes.types_map.get(suffix, "application/octet-stream"))


class Cancel(APIView):
    """Cancel the track's job if it is queued or running (a running job stops at its next block); the track
    stays, with status ``cancelled``. A finished job is left as it is. Answers the track."""

    @extend_schema(request=None, responses={200: TrackSerializer, **ERRORS})
    def post(self, request: Request, pk: uuid.UUID) -> Response:
        track = owned_tracks(request).filter(pk=pk).first()
        if track is None:
            raise NotFound("not found")
        jobs.cancel_track(track)
        track.separation.refresh_from_db()
        return Response(TrackSerializer(track).data)
