"""The practice studio of the mixer (issue 22 parts 1-3) in a real headless Chromium against the real service:
export the mix (WAV and MP3) and check its samples against the stems; set an A-B loop and watch the time wrap;
tempo and pitch measured on an exported sine, and the clock at 50 % tempo. Fixtures and helpers are those of
``tests/web/test_browser.py``; this module runs its own service, with a larger upload limit.

Needs the built app (``make frontend``) and Debian's chromium; ``make test`` provides both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.web import test_browser as base
from tests.web.browser import Service, drop_files, running_service
from tests.web.test_browser import PHONE, Page, expect, fits_width, generated_mp3

browser = base.browser  # the fixtures of test_browser.py: one Chromium for the module, a signed-in page a test
session = base.session

MAX_UPLOAD_MB = 8
SR = 44100
LSB = 1 / 32768  # one step of 16-bit audio
# The MP3 export against the accompaniment, both low-passed at MP3_BAND_HZ (above it LAME codes the sound, not the
# waveform: full band, ffmpeg's own LAME at 192 kbit/s is within ~8 dB of this song). Measured 14.3 dB; the mix with
# the vocals left in is -15 dB from the accompaniment in the same band.
# Silence allowed at the start or end of a time-stretched export: WSOLA places each piece within its seek window
# (15-25 ms). Measured: 0.0 / 0.0 ms at 75 %, 0.1 / 9.1 ms at +3 semitones; before the delay was measured after a
# silent lead-in (SoundTouch drops the first ms it is fed), the 75 % export ended with 35 ms of silence.
MAX_EDGE_MS = 25.0
MP3_BAND_HZ = 11000
MP3_MIN_SNR_DB = 10.0


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, checkpoint_dir: Path) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("studio"), checkpoint_dir, MAX_UPLOAD_MB) as running:
        yield running


def open_separated(page, path: Path, kind: str) -> None:  # noqa: ANN001 -- a Playwright Page
    """Drop ``path`` on the upload area, wait until it is separated and open its mixer."""
    drop_files(page, page.get_by_role("region", name="Upload"), [(path.name, path.read_bytes(), kind)])
    row = page.get_by_role("row", name=path.name)
    expect(row).to_contain_text("Done", timeout=180_000)
    row.get_by_role("link", name=path.name).click()
    expect(page.get_by_role("button", name="Play")).to_be_enabled()


def export(page, folder: Path, fmt: str) -> Path:  # noqa: ANN001
    """Export the mix as ``fmt`` ("wav" or "mp3") and save the download in ``folder``."""
    page.get_by_label("Export format").select_option(fmt)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Export mix").click()
    saved = folder / f"{len(list(folder.iterdir()))}-{download.value.suggested_filename}"
    download.value.save_as(saved)
    return saved


def download_stem(page, region: str, folder: Path) -> Path:  # noqa: ANN001
    with page.expect_download() as download:
        page.get_by_role("region", name=region).get_by_role("link", name="Download").click()
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


def low_passed(audio: np.ndarray, hz: float, sr: int) -> np.ndarray:
    """``audio`` ([frames, channels]) without its content above ``hz`` (an FFT brick-wall filter)."""
    spectrum = np.fft.rfft(audio, axis=0)
    spectrum[np.fft.rfftfreq(audio.shape[0], 1 / sr) > hz] = 0
    return np.fft.irfft(spectrum, n=audio.shape[0], axis=0)


def aligned_snr_db(got: np.ndarray, want: np.ndarray, sr: int, max_lag: int = 4000) -> float:
    """The signal-to-noise ratio (dB) below MP3_BAND_HZ of ``got`` against ``want`` ([frames, channels]) at the
    lag (an MP3 encoder's and decoder's delay, 0..max_lag frames) that fits best."""
    ref = want[:, 0]
    corr = [float(np.dot(got[lag:lag + ref.size - max_lag, 0], ref[: ref.size - max_lag])) for lag in range(max_lag)]
    lag = int(np.argmax(corr))
    n = min(got.shape[0] - lag, want.shape[0])
    got, want = low_passed(got[lag:lag + n], MP3_BAND_HZ, sr), low_passed(want[:n], MP3_BAND_HZ, sr)
    return float(10 * np.log10(np.sum(want**2) / np.sum((got - want) ** 2)))


def dominant_hz(audio: np.ndarray, sr: int) -> float:
    """The frequency (Hz) of the strongest spectral peak of the middle half of a mono signal, refined by
    parabolic interpolation of the log magnitude around the peak bin."""
    middle = audio[audio.size // 4: 3 * audio.size // 4]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(middle.size), n=8 * middle.size))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1: k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / (8 * middle.size)


def test_export_mix_wav_and_mp3_match_the_stems(session: Page, tmp_path: Path) -> None:
    from Input.synth.song import generate_song

    page = session.page
    song = tmp_path / "export song.wav"
    sf.write(song, generate_song(3, 5.0, sr=SR)["mixture"].T, SR, subtype="PCM_16")
    open_separated(page, song, "audio/wav")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    accompaniment, _ = sf.read(download_stem(page, "accompaniment", downloads))
    mixture, _ = sf.read(song)

    vocals = page.get_by_role("region", name="vocals")
    vocals.get_by_role("slider", name="Volume").fill("0")
    expect(vocals.get_by_role("slider", name="Volume")).to_have_attribute("aria-valuetext", "-inf dB")
    wav = export(page, downloads, "wav")
    assert wav.name.endswith("export song_mix.wav")
    info = sf.info(wav)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (SR, 2, mixture.shape[0], "PCM_16")
    got, _ = sf.read(wav)
    assert np.abs(got - accompaniment).max() <= LSB + 1e-9, "vocals at 0 is not the accompaniment"
    assert np.abs(got).max() > 0.05

    mp3 = export(page, downloads, "mp3")
    assert mp3.name.endswith("export song_mix.mp3")
    info = sf.info(mp3)
    assert (info.samplerate, info.channels) == (SR, 2)
    assert abs(info.frames - mixture.shape[0]) <= 3 * 1152, (info.frames, mixture.shape[0])  # encoder padding
    snr = aligned_snr_db(sf.read(mp3)[0], accompaniment, SR)
    assert snr >= MP3_MIN_SNR_DB, f"the MP3 of vocals at 0 is {snr:.1f} dB from the accompaniment"

    vocals.get_by_role("slider", name="Volume").fill("1")
    expect(vocals.get_by_role("slider", name="Volume")).to_have_attribute("aria-valuetext", "0.0 dB")
    got, rate = sf.read(export(page, downloads, "wav"))
    assert rate == SR and got.shape == mixture.shape
    # each stem is 16-bit (half a step each) and the mix is quantised once more: within 1.5 steps
    assert np.abs(got - mixture).max() <= 1.5 * LSB + 1e-9, "vocals + accompaniment at 1/1 is not the mixture"

    # The A-B loop's span alone: set by dragging on a waveform, exported with the mixture soloed (the input itself)
    range_choice = page.get_by_label("Export range")
    expect(range_choice).to_be_disabled()  # no loop yet: the whole song
    drag_loop(page, "accompaniment", 0.2, 0.6)
    expect(range_choice).to_be_enabled()
    range_choice.select_option(label="A-B loop")
    page.get_by_role("region", name="mixture").get_by_role("button", name="Solo").click()
    span = export(page, downloads, "wav")
    named = re.search(r"_mix_(\d+\.\d\d)-(\d+\.\d\d)s\.wav$", span.name)
    assert named, span.name
    a, b = (float(x) * SR for x in named.groups())  # frames, to 0.01 s
    assert 0.5 * SR < a < b < 4.5 * SR, (a / SR, b / SR)
    got, _ = sf.read(span)
    assert abs(got.shape[0] - (b - a)) <= 0.01 * SR, (got.shape[0], b - a)
    # the export is the mixture's frames [A, B): find A to the frame near the name's 0.01 s
    starts = [k for k in range(int(a) - SR // 100, int(a) + SR // 100 + 1)
              if np.abs(got - mixture[k:k + got.shape[0]]).max() <= LSB + 1e-9]
    assert len(starts) == 1, f"the loop's export is not one stretch of the mixture near A ({len(starts)} fits)"
    page.get_by_role("slider", name="Tempo").fill("75")
    slow, _ = sf.read(export(page, downloads, "wav"))
    assert slow.shape[0] == int(np.ceil(got.shape[0] / 0.75)), (slow.shape[0], got.shape[0] / 0.75)
    assert session.errors == []


def drag_loop(page, stem: str, start: float, end: float) -> None:  # noqa: ANN001 -- a Playwright Page
    """Drag across ``stem``'s waveform from ``start`` to ``end`` (fractions of its width): sets the A-B loop."""
    box = page.get_by_role("region", name=stem).get_by_role("img").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + start * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + (start + end) / 2 * box["width"], y, steps=5)
    page.mouse.move(box["x"] + end * box["width"], y, steps=5)
    page.mouse.up()
    expect(page.get_by_label("Loop span")).not_to_contain_text("No loop")


def test_loop_set_by_drag_and_keys_wraps_the_time_and_survives_mute(session: Page, tmp_path: Path) -> None:
    page = session.page
    song = generated_mp3(tmp_path, seconds=12.0)
    open_separated(page, song, "audio/mpeg")
    span = page.get_by_label("Loop span")
    expect(span).to_contain_text("No loop")

    waveform = page.get_by_role("region", name="accompaniment").get_by_role("img")
    expect(waveform).to_have_accessible_name(re.compile(r"^accompaniment waveform \(left above right\);"))  # stereo
    drag_loop(page, "accompaniment", 0.25, 0.5)
    expect(span).to_have_text(re.compile(r"^A 0:0[23] – B 0:0[56]$"))  # about 3 s to 6 s of 12 s

    page.get_by_role("heading", name=song.name).click()  # focus outside any control: the keys are the mixer's
    page.keyboard.press("ArrowRight")  # 0:05
    page.keyboard.press("[")
    page.keyboard.press("ArrowRight")  # 0:10
    page.keyboard.press("]")
    expect(span).to_have_text("A 0:05 – B 0:10")

    loop = page.get_by_role("button", name="Loop")
    expect(loop).to_have_attribute("aria-pressed", "false")
    loop.click()
    expect(loop).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Play").click()  # from 0:10, outside the loop: playback starts at A
    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^0:0[5-7] / "))
    expect(timer).to_have_text(re.compile(r"^0:09 / "), timeout=15_000)
    expect(timer, "the time did not wrap back to A").to_have_text(re.compile(r"^0:0[56] / "), timeout=5_000)

    mute = page.get_by_role("region", name="vocals").get_by_role("button", name="Mute")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    expect(timer).to_have_text(re.compile(r"^0:09 / "), timeout=15_000)
    expect(timer, "the loop ended after a mute").to_have_text(re.compile(r"^0:0[56] / "), timeout=5_000)
    assert page.locator("[data-audio-state]").get_attribute("data-audio-state") == "running"
    tempo = page.get_by_role("slider", name="Tempo")
    tempo.fill("150")  # during playback: the loop goes on, through the SoundTouch node
    expect(tempo).to_have_attribute("aria-valuetext", "150 %")
    expect(timer).to_have_text(re.compile(r"^0:09 / "), timeout=15_000)
    expect(timer, "the loop ended at 150 % tempo").to_have_text(re.compile(r"^0:0[56] / "), timeout=5_000)

    for stem in ("mixture", "vocals", "accompaniment"):  # every waveform shows the loop (wavesurfer's region)
        expect(page.get_by_role("region", name=stem).locator('[part~="loop"]')).to_be_visible()
    page.screenshot(path=tmp_path / "studio-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert fits_width(page), "sideways scrolling at phone width"
    for stem in ("mixture", "vocals", "accompaniment"):
        expect(page.get_by_role("region", name=stem).locator('[part~="loop"]')).to_be_visible()
    page.screenshot(path=tmp_path / "studio-phone.png", full_page=True)
    page.set_viewport_size({"width": 1200, "height": 900})

    loop.click()  # off: playback goes on past B
    expect(loop).to_have_attribute("aria-pressed", "false")
    expect(timer).to_have_text(re.compile(r"^0:1[01] / "), timeout=15_000)
    assert session.errors == []


def wall_seconds_between(page, first: str, last: str) -> float:  # noqa: ANN001
    """Wall-clock seconds between the time display first showing ``first`` and first showing ``last`` (both
    like "0:01"), watched every animation frame in the page."""
    return page.evaluate(
        """([first, last]) => new Promise((resolve, reject) => {
             const timer = document.querySelector('[role="timer"]');
             let start = null;
             const giveUp = performance.now() + 30000;
             const watch = () => {
               const shown = timer.textContent.split(" / ")[0];
               if (start === null && shown === first) start = performance.now();
               if (start !== null && shown === last) return resolve((performance.now() - start) / 1000);
               if (performance.now() > giveUp) return reject(new Error(`the time never showed ${last}`));
               requestAnimationFrame(watch);
             };
             watch();
           })""",
        [first, last],
    )


def silent_edges_ms(audio: np.ndarray, sr: int) -> tuple[float, float]:
    """How long (ms) a mono signal stays below 1 % of full scale at its start and at its end."""
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return 1000 * loud[0] / sr, 1000 * (audio.size - 1 - loud[-1]) / sr


def test_tempo_and_pitch_of_an_exported_sine_and_the_clock_at_half_tempo(session: Page, tmp_path: Path) -> None:
    page = session.page
    hz, seconds = 440.0, 8.0
    t = np.arange(int(SR * seconds)) / SR
    sine = tmp_path / "sine 440.wav"
    sf.write(sine, 0.5 * np.sin(2 * np.pi * hz * t), SR, subtype="PCM_16")  # mono
    open_separated(page, sine, "audio/wav")
    mixture = page.get_by_role("region", name="mixture")
    expect(mixture.get_by_role("img")).to_have_accessible_name(re.compile(r"^mixture waveform;"))  # mono: one
    mixture.get_by_role("button", name="Solo").click()  # the input itself
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    tempo, pitch = page.get_by_role("slider", name="Tempo"), page.get_by_role("slider", name="Pitch")
    expect(tempo).to_have_attribute("aria-valuetext", "100 %")
    expect(pitch).to_have_attribute("aria-valuetext", "0 semitones")
    tempo.fill("75")
    expect(tempo).to_have_attribute("aria-valuetext", "75 %")
    slow, rate = sf.read(export(page, downloads, "wav"))
    assert rate == SR and slow.ndim == 1, "not the input's rate and channels"
    assert slow.size == int(np.ceil(t.size / 0.75)), (slow.size, t.size / 0.75)
    assert abs(dominant_hz(slow, SR) / hz - 1) < 0.01, f"75 % tempo moved the pitch to {dominant_hz(slow, SR):.1f} Hz"
    assert np.sqrt(np.mean(slow[slow.size // 4: -slow.size // 4] ** 2)) > 0.25, "the slowed sine is not whole"
    # the song fills the export: SoundTouch's delay is cut off, and WSOLA's seek window bounds the rest
    assert max(silent_edges_ms(slow, SR)) < MAX_EDGE_MS, f"silence at the (start, end): {silent_edges_ms(slow, SR)} ms"

    tempo.fill("100")
    pitch.fill("3")
    expect(pitch).to_have_attribute("aria-valuetext", "+3 semitones")
    shifted, _ = sf.read(export(page, downloads, "wav"))
    assert shifted.size == t.size
    want = hz * 2 ** (3 / 12)
    assert abs(dominant_hz(shifted, SR) / want - 1) < 0.01, f"+3 semitones gave {dominant_hz(shifted, SR):.1f} Hz"
    edges = silent_edges_ms(shifted, SR)
    assert max(edges) < MAX_EDGE_MS, f"silence at the (start, end): {edges} ms"

    pitch.fill("0")
    tempo.fill("50")
    expect(tempo).to_have_attribute("aria-valuetext", "50 %")
    page.get_by_role("button", name="Play").click()
    elapsed = wall_seconds_between(page, "0:01", "0:03")  # 2 song seconds: 4 s of wall clock at 50 %, 2 at 100 %
    print(f"2 song seconds at 50 % tempo took {elapsed:.2f} s of wall clock")
    assert 3.2 < elapsed < 5.0, f"2 song seconds took {elapsed:.2f} s of wall clock at 50 % tempo"
    tempo.fill("150")  # during playback
    elapsed = wall_seconds_between(page, "0:04", "0:07")  # 3 song seconds: 2 s of wall clock at 150 %, 3 at 100 %
    print(f"3 song seconds at 150 % tempo took {elapsed:.2f} s of wall clock")
    assert 1.6 < elapsed < 2.6, f"3 song seconds took {elapsed:.2f} s of wall clock at 150 % tempo"
    assert session.errors == []


def test_a_tracks_practice_settings_are_there_on_the_next_visit(session: Page, tmp_path: Path) -> None:
    page = session.page
    first, second = generated_mp3(tmp_path, seconds=12.0), tmp_path / "second take.mp3"
    second.write_bytes(first.read_bytes())
    open_separated(page, second, "audio/mpeg")
    page.go_back()
    open_separated(page, first, "audio/mpeg")
    span, loop = page.get_by_label("Loop span"), page.get_by_role("button", name="Loop")
    tempo, pitch = page.get_by_role("slider", name="Tempo"), page.get_by_role("slider", name="Pitch")
    vocals = page.get_by_role("region", name="vocals")
    page.get_by_role("heading", name=first.name).click()  # focus outside any control: the keys are the mixer's
    page.keyboard.press("ArrowRight")  # 0:05
    page.keyboard.press("[")
    page.keyboard.press("ArrowRight")  # 0:10
    page.keyboard.press("]")
    loop.click()
    tempo.fill("85")
    pitch.fill("-2")
    vocals.get_by_role("button", name="Mute").click()
    vocals.get_by_role("slider", name="Volume").fill("0.5")

    page.reload()  # a later visit: a new page, the same browser
    expect(page.get_by_role("button", name="Play")).to_be_enabled()
    expect(span).to_have_text("A 0:05 – B 0:10")
    expect(loop).to_have_attribute("aria-pressed", "true")
    expect(tempo).to_have_attribute("aria-valuetext", "85 %")
    expect(pitch).to_have_attribute("aria-valuetext", "-2 semitones")
    expect(vocals.get_by_role("button", name="Mute")).to_have_attribute("aria-pressed", "true")
    expect(vocals.get_by_role("slider", name="Volume")).to_have_value("0.5")
    expect(page.get_by_role("region", name="mixture").get_by_role("button", name="Mute")).to_have_attribute(
        "aria-pressed", "true")
    page.get_by_role("button", name="Play").click()  # the restored loop plays: from A, and wraps before 0:11
    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^0:0[5-7] / "))
    expect(timer).to_have_text(re.compile(r"^0:09 / "), timeout=20_000)
    expect(timer).to_have_text(re.compile(r"^0:0[5-6] / "), timeout=20_000)  # back at A after B (5 s at 85 %)
    page.get_by_role("button", name="Pause").click()

    page.go_back()  # another track keeps its own (default) settings
    page.get_by_role("row", name=second.name).get_by_role("link", name=second.name).click()
    expect(page.get_by_role("button", name="Play")).to_be_enabled()
    expect(span).to_contain_text("No loop")
    expect(tempo).to_have_attribute("aria-valuetext", "100 %")
    expect(vocals.get_by_role("button", name="Mute")).to_have_attribute("aria-pressed", "false")
    assert not session.errors, session.errors


def test_an_aiff_upload_plays_though_the_browser_cannot_read_aiff(session: Page, tmp_path: Path) -> None:
    """Chromium decodes no AIFF: the mixture (the upload itself) failed, and with it the whole mixer. The stems add
    up to the song, so their sum stands in for it."""
    from Input.synth.song import generate_song

    page = session.page
    song = tmp_path / "take two.aiff"
    sf.write(song, generate_song(4, 3.0, sr=SR)["mixture"].T, SR, subtype="PCM_16")
    open_separated(page, song, "audio/aiff")  # waits for Play: every stem, the mixture too, is ready
    page.get_by_role("region", name="mixture").get_by_role("button", name="Solo").click()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    got, rate = sf.read(export(page, downloads, "wav"))
    want, _ = sf.read(song)
    assert rate == SR and got.shape == want.shape
    assert np.abs(got - want).max() <= 3 * LSB  # the song itself, up to the 16-bit rounding of the stems
    assert not page.get_by_role("alert").is_visible() and not session.errors, session.errors
