"""File downloads: Django's :class:`~django.http.FileResponse` as an attachment (its ``Content-Disposition``:
``filename="..."``, or RFC 6266 ``filename*=utf-8''...`` for names that are not plain ASCII) with single HTTP byte
ranges (206 / 416), so that players can seek; and the zip of a track's stems."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from werkzeug.http import parse_range_header

from Utils import atomic_path


class _Window(io.RawIOBase):
    """Bytes ``[start, stop)`` of a file as a readable stream (FileResponse reads it in blocks and closes it)."""

    def __init__(self, path: Path, start: int, stop: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 -- closed by close()
        self._file.seek(start)
        self._left = stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._file.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


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
        response = FileResponse(_Window(path, start, stop), status=206, as_attachment=True, filename=filename,
                                content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        response["Content-Length"] = str(stop - start)
    else:
        whole = open(path, "rb")  # noqa: SIM115 -- closed by Django with the response
        response = FileResponse(whole, as_attachment=True, filename=filename, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    return response


def zip_of(target: Path, members: dict[str, Path]) -> Path:
    """Write (once) a zip of ``members`` (``{name in the zip: file}``) at ``target``, atomically; stored, not
    compressed (audio does not shrink). Returns ``target``."""
    if not target.is_file():
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for name, path in members.items():
                archive.write(path, name)
    return target
