"""Hostile media files for the tests of the decoder's barriers (issue 19), built with ffmpeg or by hand.

Each hostile file is a text that makes a permissive ffmpeg open *another* file (the "secret": audio that is not
the uploader's, such as another user's upload), saved under an audio extension. ffmpeg without the barriers of
``Input.audio.probe.ffmpeg_input`` decodes every one of them to the secret's audio (checked by
:func:`permissive_decode_seconds`, so that a test of the barriers cannot pass by a file that is harmless anyway).
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

SECRET_SECONDS = 3.0
SECRET_RATE = 44100


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def write_secrets(folder: Path) -> dict[str, Path]:
    """``{"mp3": ..., "m4a": ...}``: two 3-s stereo sines in ``folder / "other_user"``, the files to steal."""
    other = folder / "other_user"
    other.mkdir(parents=True, exist_ok=True)
    secrets = {"mp3": other / "upload.mp3", "m4a": other / "upload.m4a"}
    for ext, path in secrets.items():
        _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={SECRET_SECONDS}", "-ac", "2",
                "-ar", str(SECRET_RATE), *(["-c:a", "aac"] if ext == "m4a" else []), str(path))
    return secrets


def hls_playlist(target: str) -> str:
    """An HLS playlist (ffmpeg's ``hls`` demuxer) with one 10-s segment: the file ``target``."""
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n"


def concat_list(target: str) -> str:
    """An ffconcat list (ffmpeg's ``concat`` demuxer) of ``target``, with its duration so that it probes."""
    return f"ffconcat version 1.0\nfile {target}\nduration {SECRET_SECONDS}\n"


def dash_manifest(target: str) -> str:
    """A DASH manifest (ffmpeg's ``dash`` demuxer) whose one representation is the file ``target``."""
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT3S" '
            'minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">\n'
            '<Period><AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="128000" '
            f'codecs="mp4a.40.2" audioSamplingRate="{SECRET_RATE}">\n'
            f"<BaseURL>{target}</BaseURL></Representation></AdaptationSet></Period></MPD>\n")


def write_hostile(folder: Path, secrets: dict[str, Path]) -> dict[str, Path]:
    """Every hostile kind, named as an upload would be, in ``folder`` (next to, not inside, the secrets' folder).

    Kinds: HLS playlists with an absolute path (as .mp3, .m4a and .mp4) and with a relative one (another user's
    folder, as .mp3), an ffconcat list (.mp3) and a DASH manifest (.mp4). ffmpeg's concat demuxer only follows
    plain relative names by default, so its list names a file in the uploader's own folder (say, the track's
    stems), a copy of the secret here.
    """
    folder.mkdir(parents=True, exist_ok=True)
    relative = Path("..") / secrets["mp3"].parent.name / secrets["mp3"].name
    (folder / "neighbour.mp3").write_bytes(secrets["mp3"].read_bytes())
    texts = {
        "hls_absolute.mp3": hls_playlist(str(secrets["mp3"])),
        "hls_absolute.m4a": hls_playlist(str(secrets["mp3"])),
        "hls_absolute.mp4": hls_playlist(str(secrets["mp3"])),
        "hls_relative.mp3": hls_playlist(str(relative)),
        "concat.mp3": concat_list("neighbour.mp3"),
        "dash.mp4": dash_manifest(str(secrets["m4a"])),
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
    return {name: folder / name for name in texts}


def permissive_decode_seconds(path: Path) -> float:
    """Seconds of stereo audio that a plain ``ffmpeg -i path`` (no barriers) decodes from ``path``."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "2", "-ar",
                             str(SECRET_RATE), "-f", "f32le", "-"], capture_output=True, check=False,
                            cwd=path.parent)
    return len(result.stdout) / (4 * 2 * SECRET_RATE)


def write_longer_than_announced(path: Path, announced: float = 1.0, real: float = 30.0) -> Path:
    """An MP3 whose Xing header announces ``announced`` seconds but which decodes to ``announced + real``.

    Made by appending the frames of a ``real``-second MP3 (no tags, no Xing header) to an ``announced``-second
    one, and fixing the byte count in the Xing header so that ffmpeg trusts its frame count.
    """
    head, tail = path.with_suffix(".head.mp3"), path.with_suffix(".tail.mp3")
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={announced}", "-ac", "2", "-ar", "44100",
            str(head))
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency=660:duration={real}", "-ac", "2", "-ar", "44100",
            "-write_xing", "0", "-id3v2_version", "0", str(tail))
    short, extra = head.read_bytes(), tail.read_bytes()
    head.unlink()
    tail.unlink()
    data = bytearray(short + extra)
    tag = max(short.find(b"Info"), short.find(b"Xing"))
    assert tag > 0, "ffmpeg wrote no Xing/Info header"
    flags, _, size = struct.unpack(">III", data[tag + 4:tag + 16])
    assert flags & 3 == 3, "the Xing header has no frame and byte counts"
    data[tag + 12:tag + 16] = struct.pack(">I", size + len(extra))  # the stream's bytes, the appended ones too
    path.write_bytes(bytes(data))
    return path
