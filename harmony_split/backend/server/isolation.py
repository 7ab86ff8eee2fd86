"""Cross-origin isolation of every response (pages, the built app's files, the API): ``Cross-Origin-Opener-Policy:
same-origin`` and ``Cross-Origin-Embedder-Policy: require-corp``, with ``Cross-Origin-Resource-Policy: same-origin``
on the app's own files. The browser then sets ``crossOriginIsolated``, which SharedArrayBuffer, and so
onnxruntime-web's WASM threads, need (separation on the musician's device, harmony_split/README.md). The app loads
nothing from other origins, so nothing breaks."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class CrossOriginIsolationMiddleware:
    """Adds :data:`HEADERS` to every response that does not set them itself. First in ``MIDDLEWARE``, so that the
    files WhiteNoise serves get them too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
