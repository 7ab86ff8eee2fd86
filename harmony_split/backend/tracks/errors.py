"""Every error of the API is JSON ``{"error": "<one line>"}`` with a fitting status code: DRF's exceptions,
unexpected ones (logged, 500), and Django's own 400/403/404/500 pages (never HTML, never a traceback)."""

from __future__ import annotations

import logging

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from Input.audio.probe import one_line

logger = logging.getLogger(__name__)


def flatten(detail: object, field: str = "") -> str:
    """One line from DRF's error detail (a string, a list, or a dict of fields): ``"field: message"``."""
    if isinstance(detail, dict):
        return "; ".join(flatten(value, "" if key in ("non_field_errors", "detail") else key)
                         for key, value in detail.items())
    if isinstance(detail, list | tuple):
        return "; ".join(flatten(item, field) for item in detail)
    return f"{field}: {detail}" if field else str(detail)


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unexpected error in %s", context.get("view"))
        return Response({"error": "internal server error"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response.data = {"error": one_line(flatten(response.data))}
    return response


def json_error(status_code: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status_code)


def bad_request(request, exception=None) -> JsonResponse:  # noqa: ANN001 -- Django's handler400 signature
    return json_error(400, "bad request")


def permission_denied(request, exception=None) -> JsonResponse:  # noqa: ANN001
    return json_error(403, "forbidden")


def not_found(request, exception=None) -> JsonResponse:  # noqa: ANN001
    return json_error(404, "not found")


def server_error(request) -> JsonResponse:  # noqa: ANN001
    return json_error(500, "internal server error")


def csrf_failure(request, reason: str = "") -> JsonResponse:  # noqa: ANN001
    return json_error(403, f"CSRF check failed: {reason}" if reason else "CSRF check failed")
