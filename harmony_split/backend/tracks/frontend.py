"""The browser app: WhiteNoise serves the built files of ``harmony_split/frontend/dist`` at ``/``
(``WHITENOISE_ROOT``); any other page path gets its ``index.html`` (the app routes in the browser)."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

NOT_BUILT = (
    "<!doctype html><title>harmony_split</title><p>The harmony_split service is running. The browser app is not "
    "built here; the JSON API is under <a href=\"/api/schema/\">/api/</a> (see harmony_split/README.md).</p>"
)


@require_GET
def index(request: HttpRequest, path: str = "") -> HttpResponse:
    page = settings.HARMONY_FRONTEND_DIR / "index.html"
    if page.is_file():
        return FileResponse(open(page, "rb"), content_type="text/html")  # noqa: SIM115 -- closed by Django
    return HttpResponse(NOT_BUILT)
