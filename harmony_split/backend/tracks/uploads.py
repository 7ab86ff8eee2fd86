"""The upload handler: uploads stream to a temporary file, and one over ``HARMONY_MAX_UPLOAD_MB`` is refused
with 413 as soon as its size is known (from Content-Length, else while the body arrives), never stored whole."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def limit_bytes() -> int:
    return int(settings.HARMONY_MAX_UPLOAD_MB * 1_000_000)


def too_large() -> UploadTooLarge:
    return UploadTooLarge(f"file: larger than the upload limit of {settings.HARMONY_MAX_UPLOAD_MB:g} MB")


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler with a byte limit (multipart overhead aside: the limit is on the body)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: ANN001
        if content_length and content_length > limit_bytes() + 64 * 1024:  # room for the multipart envelope
            raise too_large()
        self.received = 0
        return super().handle_raw_input(input_data, META, content_length, boundary, encoding)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received = getattr(self, "received", 0) + len(raw_data)
        if self.received > limit_bytes():
            self.file.close()  # a temporary file: closing removes it
            raise too_large()
        return super().receive_data_chunk(raw_data, start)
