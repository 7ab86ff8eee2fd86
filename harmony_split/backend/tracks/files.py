"""File downloads: ``Content-Disposition: attachment`` with an RFC 6266 ``filename*`` and single HTTP byte
ranges (206 / 416), so that players can seek; and the zip of a track's stems."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from werkzeug.http import parse_range_header

from Utils import atomic_path

CHUNK = 256 * 1024  # bytes per read of a ranged response


def content_disposition(filename: str) -> str:
    """``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>`` (RFC 6266)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _chunks(path: Path, start: int, stop: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(start)
        left = stop - start
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data


def file_response(request: HttpRequest, path: Path, filename: str, content_type: str) -> HttpResponse:
    """The file as an attachment: 200 with the whole file, 206 for one satisfiable ``Range``, 416 otherwise.
    Several ranges in one request get the whole file (RFC 9110 lets a server ignore Range)."""
    size = path.stat().st_size
    wanted = parse_range_header(request.headers.get("Range"))
    response: HttpResponse
    if wanted is not None and len(wanted.ranges) == 1:
        bounds = wanted.range_for_length(size)
        if bounds is None:
            response = JsonResponse({"error": f"Range: not satisfiable for {size} bytes"}, status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        start, stop = bounds
        response = StreamingHttpResponse(_chunks(path, start, stop), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        response["Content-Length"] = str(stop - start)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 -- closed by Django
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition(filename)
    return response


def zip_of(target: Path, members: dict[str, Path]) -> Path:
    """Write (once) a zip of ``members`` (``{name in the zip: file}``) at ``target``, atomically; stored, not
    compressed (audio does not shrink). Returns ``target``."""
    if not target.is_file():
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for name, path in members.items():
                archive.write(path, name)
    return target
