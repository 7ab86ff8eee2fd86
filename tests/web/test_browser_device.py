"""Separation on the musician's device ("Separate on this device"), in a real headless Chromium against the real
web server with **no worker** (no job can run on the server): the page decodes a generated demo song, runs the tiny
checkpoint's ONNX export with onnxruntime-web in a worker, and shows the stems in the mixer with WAV downloads.

* No request carries the audio (every request of the browser context is recorded, the worker's included).
* The page is cross-origin isolated (COOP/COEP), so onnxruntime-web can use WASM threads.
* The browser's stems match ``separate.py --engine onnx``'s on the same file to >= 40 dB SNR.
* The switch is remembered across visits, and a second use takes the model from the browser's cache.

Needs the built app (``make frontend``) and Debian's chromium; ``make test`` provides both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright import sync_api as playwright_api

from Input.synth.song import generate_song
from tests.web.browser import Service, running_service
from tests.web.helpers import MODEL_ID, REPO
from tests.web.test_browser import Page, browser  # noqa: F401 -- `browser` is a fixture used here

expect = playwright_api.expect
pytestmark = pytest.mark.slow

SONG_SECONDS = 40.0  # more than one 30-s chunk at the model's rate, so chunk borders are crossed
RATE = 44100
# Browser vs separate.py, dB, over the whole band: both resample with libsoxr HQ (the browser's is built to WASM from
# the same source, frontend/src/logic/device/soxr/), so the stems differ by float rounding and 16-bit files alone.
# A missing mask or a frame out of place drops this far below 40 dB.
MIN_SNR_DB = 40.0


def neighbour_separator():  # noqa: ANN201 -- a tf_keras Model
    """A separator of the tiny model's shapes whose estimates are the mixture's own log1p magnitudes: the voice at
    each bin and frame, the accompaniment at the next bin and frame. Its soft masks split every song about evenly
    and change from frame to frame and bin to bin, so a missing mask or a frame or bin out of place changes the
    stems (a random tiny U-Net puts ~97 % of a song in one stem)."""
    import tf_keras as keras

    from Models.nets.factory import get_shapes
    from tests.tiny import TINY_CONFIG

    shapes = get_shapes(TINY_CONFIG.spec)
    inputs = keras.Input((shapes.input_freq, None, 1))  # any width, as the exported U-Net
    lo, ctx = shapes.freq_pad_lo, shapes.context_frames
    above = shapes.input_freq - lo - shapes.output_freq
    voice = keras.layers.Cropping2D(((lo, above), (ctx, ctx)))(inputs)
    acc = keras.layers.Cropping2D(((lo + 1, above - 1), (ctx + 1, ctx - 1)))(inputs)
    return keras.Model(inputs, [acc, voice])


@pytest.fixture(scope="module")
def onnx_checkpoints(tmp_path_factory: pytest.TempPathFactory, checkpoint_dir: Path) -> Path:
    """A copy of the tiny run with an ONNX export beside its best checkpoint, as training writes it; the export
    holds :func:`neighbour_separator`."""
    from Models.nets.checkpoint_files import resolve_checkpoint
    from Models.nets.onnx_export import onnx_bytes
    from Models.nets.onnx_files import onnx_file_of

    base = tmp_path_factory.mktemp("onnx-checkpoints")
    shutil.copytree(checkpoint_dir / MODEL_ID, base / MODEL_ID)
    prefix, spec = resolve_checkpoint(base / MODEL_ID)
    onnx_file_of(prefix).write_bytes(onnx_bytes(neighbour_separator(), spec, Path(prefix).name))
    return base


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, onnx_checkpoints: Path) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("service"), onnx_checkpoints, 200, worker=False) as running:
        yield running


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo song, stereo 44.1 kHz 16-bit WAV."""
    path = tmp_path_factory.mktemp("song") / "demo song.wav"
    sf.write(path, generate_song(7, SONG_SECONDS, sr=RATE)["mixture"].T, RATE, subtype="PCM_16")
    return path


@pytest.fixture
def session(browser, service: Service) -> Iterator[Page]:  # noqa: ANN001, F811 -- the imported fixture
    opened = Page(browser, service)
    opened.requests = []  # (method, url, body bytes) of every request of the context, workers' included
    opened.context.on("request", lambda r: opened.requests.append((r.method, r.url, r.post_data_buffer or b"")))
    opened.sign_in()
    yield opened
    opened.context.close()


def separate_on_device(page: playwright_api.Page, song: Path) -> playwright_api.Locator:
    """Choose ``song`` with the switch on; returns the run's summary once the stems are in the mixer. Records every
    value the progress bar showed in ``window.progressSeen``."""
    page.evaluate("""() => {
        window.progressSeen = [];
        new MutationObserver(() => {
          for (const bar of document.querySelectorAll('[role=progressbar], progress')) {
            window.progressSeen.push(Number(bar.getAttribute('aria-valuenow') ?? bar.value));
          }
        }).observe(document.body, { subtree: true, childList: true, attributes: true });
    }""")
    switch = page.get_by_role("checkbox", name="Separate on this device")
    switch.check()
    expect(page.get_by_role("combobox", name="Model")).to_be_enabled()  # the models' list has arrived
    page.get_by_label("Audio files").set_input_files(song)
    summary = page.get_by_text("Separated on this device in")
    expect(summary).to_be_visible(timeout=120_000)
    expect(page.get_by_role("region", name="vocals").get_by_role("button", name="Mute")).to_be_visible()
    return summary


def download(page: playwright_api.Page, stem: str, folder: Path) -> Path:
    with page.expect_download() as started:
        page.get_by_role("region", name=stem).get_by_role("link", name="Download").click()
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def test_device_separation_matches_the_server_engine_and_uploads_nothing(
    session: Page, song: Path, onnx_checkpoints: Path, tmp_path: Path
) -> None:
    page = session.page
    assert page.evaluate("crossOriginIsolated") is True
    summary = separate_on_device(page, song)
    assert int(summary.get_attribute("data-threads")) >= 2  # WASM threads (this box has 2 cores)
    seen = page.evaluate("window.progressSeen")
    assert len(set(seen)) >= 3 and min(seen) < 0.5 < max(seen)  # the bar moved while the song was separated

    stems = {stem: download(page, stem, tmp_path / "browser") for stem in ("vocals", "accompaniment")}
    assert stems["vocals"].name == "demo song_vocals.wav"
    subprocess.run([sys.executable, "separate.py", "--input", str(song), "--checkpoint",
                    str(onnx_checkpoints / MODEL_ID), "--engine", "onnx", "--output", str(tmp_path / "server")],
                   cwd=REPO, check=True, capture_output=True)
    mixture, _ = sf.read(song, dtype="float32")
    for stem, path in stems.items():
        ours, rate = sf.read(path, dtype="float32")
        theirs, their_rate = sf.read(next((tmp_path / "server").rglob(f"*{stem}*.wav")), dtype="float32")
        assert (rate, ours.shape) == (their_rate, theirs.shape) == (RATE, mixture.shape)
        snr = snr_db(theirs, ours)
        print(f"browser vs separate.py, {stem}: {snr:.1f} dB SNR")
        assert snr >= MIN_SNR_DB, (stem, snr)
    # the vocals are a separation, not the mixture or silence
    vocals, _ = sf.read(stems["vocals"], dtype="float32")
    assert 0.01 < np.sum(vocals**2) / np.sum(mixture**2) < 0.99

    audio = song.read_bytes()
    posts = [(method, url) for method, url, _ in session.requests if "/api/tracks" in url and method != "GET"]
    assert posts == []
    largest = max(len(body) for _, _, body in session.requests)
    assert largest < 4096  # the sign-in; the song is len(audio) bytes
    assert not any(audio[1000:1064] in body for _, _, body in session.requests if body)
    assert session.errors == []


def test_switch_is_remembered_and_the_model_is_downloaded_once(session: Page, song: Path) -> None:
    page = session.page
    first = separate_on_device(page, song)
    model_requests = [url for _, url, _ in session.requests if url.endswith(".onnx")]
    assert len(model_requests) == 1 and "/api/models/" in model_requests[0]
    assert int(first.get_attribute("data-model-bytes")) > 0

    page.reload()
    switch = page.get_by_role("checkbox", name="Separate on this device")
    expect(switch).to_be_checked()  # remembered across visits
    expect(page.get_by_role("combobox", name="Quality")).to_be_disabled()  # high quality needs the server
    second = separate_on_device(page, song)
    assert int(second.get_attribute("data-model-bytes")) == 0  # from the browser's cache: no download
    expect(page.get_by_text("The model came from the browser's cache.")).to_be_visible()

    switch.uncheck()
    page.reload()
    expect(page.get_by_role("checkbox", name="Separate on this device")).not_to_be_checked()
    assert session.errors == []
