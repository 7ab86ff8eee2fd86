"""The browser app as a person uses it, in a real headless Chromium against the real service (gunicorn, a worker
and a tiny checkpoint): sign in, drop a generated mp3, wait for Done, play, mix, download, delete; the browser's
and the server's refusals; phone width; no console errors. Elements are found by role and accessible name only.

Needs the built app (``make frontend``) and Debian's chromium; ``make test`` provides both.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright import sync_api as playwright_api

from tests.web.browser import (
    CHROMIUM_FLAGS,
    PASSWORD,
    USER,
    Service,
    add_finished_tracks,
    chromium_path,
    drop_files,
    running_service,
)

expect = playwright_api.expect

SONG_SECONDS = 20.0
MAX_UPLOAD_MB = 1  # small, so that the browser's own size check can be tried with a small file
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, checkpoint_dir: Path) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("service"), checkpoint_dir, MAX_UPLOAD_MB) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Page:
    """A fresh browser context and page, with every console error and uncaught exception recorded."""

    def __init__(self, browser, service: Service) -> None:  # noqa: ANN001 -- a Playwright Browser
        self.context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.service = service

    def sign_in(self) -> None:
        page = self.page
        page.goto(self.service.url)
        page.get_by_label("User name").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Upload audio")).to_be_visible()


@pytest.fixture
def session(browser, service: Service) -> Iterator[Page]:  # noqa: ANN001
    opened = Page(browser, service)
    opened.sign_in()
    yield opened
    opened.context.close()


def generated_mp3(folder: Path, seconds: float = SONG_SECONDS) -> Path:
    """A generated song (``Input.synth.song``), 44.1 kHz stereo, encoded to mp3 with ffmpeg."""
    from Input.synth.song import generate_song

    wav, mp3 = folder / "song.wav", folder / "demo song.mp3"
    sf.write(wav, generate_song(7, seconds, sr=44100)["mixture"].T, 44100)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-b:a", "128k", str(mp3)], check=True)
    return mp3


def seconds_shown(page) -> float:  # noqa: ANN001
    """The position the transport's time display shows, in seconds."""
    minutes, seconds = re.match(r"(\d+):(\d\d)", page.get_by_role("timer").inner_text()).groups()
    return int(minutes) * 60 + int(seconds)


def shows_between(low: float, high: float) -> re.Pattern:
    """The time display's text when its position is ``low`` to ``high`` seconds (whole seconds, under an hour)."""
    minutes_seconds = "|".join(f"{s // 60}:{s % 60:02d}" for s in range(int(low), int(high) + 1))
    return re.compile(rf"^({minutes_seconds}) / ")


def fits_width(page) -> bool:  # noqa: ANN001
    """True when the page needs no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_drop_separate_play_mix_download_delete(session: Page, tmp_path: Path) -> None:
    page = session.page
    song = generated_mp3(tmp_path)
    drop_files(page, page.get_by_role("region", name="Upload"), [(song.name, song.read_bytes(), "audio/mpeg")])

    row = page.get_by_role("row", name=song.name)
    expect(row).to_contain_text(re.compile("Queued|Running|Done"))
    expect(row).to_contain_text("Done", timeout=180_000)
    expect(row).to_contain_text(re.compile(r"\d+ BPM · [A-G][#b]? (major|minor)"))  # the song's tempo and key
    row.get_by_role("link", name=song.name).click()
    expect(page.get_by_text(re.compile(r"^\d+ BPM · [A-G][#b]? (major|minor)$"))).to_be_visible()

    play = page.get_by_role("button", name="Play")
    expect(play).to_be_enabled()
    play.click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    start = seconds_shown(page)
    expect(page.get_by_role("timer"), "the time display does not advance while playing").to_have_text(
        shows_between(start + 2, SONG_SECONDS), timeout=15_000)

    vocals = page.get_by_role("region", name="vocals")
    volume = vocals.get_by_role("slider", name="Volume")
    expect(volume).to_have_attribute("aria-valuetext", "0.0 dB")  # the level reads as a mixing desk's
    volume.fill("0.5")
    expect(volume).to_have_attribute("aria-valuetext", "-6.0 dB")
    expect(vocals).to_contain_text("-6.0 dB")
    mute = vocals.get_by_role("button", name="Mute")
    expect(mute).to_have_attribute("aria-pressed", "false")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=tmp_path / "mixer-desktop.png", full_page=True)
    solo = page.get_by_role("region", name="accompaniment").get_by_role("button", name="Solo")
    solo.click()
    expect(solo).to_have_attribute("aria-pressed", "true")
    expect(vocals).to_contain_text("Silent while another stem is soloed")  # the silent stems say why
    expect(page.get_by_role("region", name="mixture")).to_contain_text("Silent while another stem is soloed")
    page.get_by_role("region", name="accompaniment").focus()
    page.keyboard.press("s")
    expect(solo).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("m")
    accompaniment_mute = page.get_by_role("region", name="accompaniment").get_by_role("button", name="Mute")
    expect(accompaniment_mute).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("m")
    expect(accompaniment_mute).to_have_attribute("aria-pressed", "false")
    page.get_by_role("heading", name=song.name).click()  # focus outside any button: space toggles the transport
    page.keyboard.press(" ")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.get_by_role("region", name="accompaniment").get_by_role("img").click()  # the middle of its waveform
    expect(page.get_by_role("timer")).to_have_text(shows_between(8, 12))  # once the seek has been drawn
    paused_at = seconds_shown(page)
    page.get_by_role("heading", name=song.name).click()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("timer")).to_contain_text(f"0:{paused_at + 5:02d} /")

    with page.expect_download() as download:
        vocals.get_by_role("link", name="Download").click()
    stem = tmp_path / download.value.suggested_filename
    download.value.save_as(stem)
    assert stem.name == "demo song_vocals.wav"
    uploaded, got = sf.info(song), sf.info(stem)
    assert (got.samplerate, got.channels) == (uploaded.samplerate, uploaded.channels) == (44100, 2)
    assert abs(got.duration - uploaded.duration) < 0.1, (got.duration, uploaded.duration)
    assert np.abs(sf.read(stem)[0]).max() > 0, "the vocals stem is silent"

    page.set_viewport_size(PHONE)
    regions = [page.get_by_role("region", name=n).bounding_box() for n in ("mixture", "vocals", "accompaniment")]
    assert len({round(r["x"]) for r in regions}) == 1 and regions[0]["y"] < regions[1]["y"] < regions[2]["y"]
    assert fits_width(page), "sideways scrolling at phone width"
    page.set_viewport_size({"width": 360, "height": 560})  # a small phone: the mixer is taller than the screen
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # to the last stem's controls
    play_bottom = page.evaluate("document.querySelector('.mixer').offsetTop + 60")  # where Play sits unstuck
    assert page.evaluate("window.scrollY") > play_bottom, "the mixer fits the screen: the check below proves nothing"
    expect(page.get_by_role("button", name="Play"), "the transport scrolled away").to_be_in_viewport()
    page.set_viewport_size(PHONE)
    page.screenshot(path=tmp_path / "mixer-phone.png", full_page=True)
    page.set_viewport_size({"width": 1200, "height": 900})

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete {song.name}", exact=True).click()  # named with its track
    expect(page.get_by_role("button", name="Upload audio")).to_be_visible()
    expect(page.get_by_role("row", name=song.name)).to_have_count(0)
    assert not any((session.service.data_dir / "tracks").iterdir()), "the track's files were not deleted"
    assert session.errors == []


def test_text_renamed_mp3_is_said_plainly_with_the_servers_message_as_detail(session: Page) -> None:
    page = session.page
    text = b"these are my lyrics, not audio\n" * 20
    csrf = next(c["value"] for c in session.context.cookies() if c["name"] == "csrftoken")
    direct = session.context.request.post(f"{session.service.url}/api/tracks/", headers={"X-CSRFToken": csrf},
                                          multipart={"file": {"name": "lyrics.mp3", "mimeType": "audio/mpeg",
                                                              "buffer": text}})
    assert direct.status == 400
    message = direct.json()["error"]

    drop_files(page, page.get_by_role("region", name="Upload"), [("lyrics.mp3", text, "audio/mpeg")])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("lyrics.mp3: this file has no audio we can read")  # plain words first
    technical = alert.get_by_text(f"lyrics.mp3: {message}")
    expect(technical).to_be_hidden()  # the server's line waits behind "Details"
    alert.get_by_text("Details").click()
    expect(technical).to_be_visible()
    expect(page.get_by_role("row", name="lyrics.mp3")).to_have_count(0)
    assert [e for e in session.errors if "status of 400" not in e] == []


def test_wrong_type_and_oversize_are_refused_before_uploading(session: Page) -> None:
    page = session.page
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/api/tracks/" in r.url else None)
    expect(page.get_by_text(f"Audio files up to {MAX_UPLOAD_MB} MB.")).to_be_visible()
    zone = page.get_by_role("region", name="Upload")

    drop_files(page, zone, [("notes.txt", b"plain text", "text/plain")])
    expect(page.get_by_role("alert")).to_contain_text("notes.txt: not an audio file")
    page.get_by_label("Audio files").set_input_files(  # the file picker's way in
        files=[{"name": "cover.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n"}])
    expect(page.get_by_role("alert")).to_contain_text("cover.png: not an audio file")
    big = MAX_UPLOAD_MB * 1_000_000 + 1
    drop_files(page, zone, [("huge.wav", b"\0" * big, "audio/wav")])
    expect(page.get_by_role("alert")).to_contain_text(f"huge.wav: 1.0 MB is over the {MAX_UPLOAD_MB} MB upload limit")
    assert posts == []

    page.set_viewport_size(PHONE)
    upload, alert = page.get_by_role("button", name="Upload audio"), page.get_by_role("alert")
    expect(upload).to_be_visible()
    assert alert.bounding_box()["y"] < upload.bounding_box()["y"]
    assert fits_width(page), "sideways scrolling at phone width"
    assert session.errors == []


def test_sign_out_and_wrong_password(session: Page) -> None:
    page = session.page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unable to sign in")
    expect(page.get_by_role("button", name="Upload audio")).to_have_count(0)


def test_too_many_sign_ins_show_when_to_try_again(browser, service: Service) -> None:  # noqa: ANN001
    """Past the sign-in limit per user name (counted on any sign-in path: here the token endpoint), the sign-in
    form shows the server's one line, which says when to try again."""
    from django.conf import settings  # the service's environment is this process's: the same limit

    opened = Page(browser, service)
    try:
        for _ in range(settings.HARMONY_SIGN_INS_PER_NAME):
            attempt = opened.context.request.post(f"{service.url}/api/auth/token/",
                                                  data={"username": "intruder", "password": "guess"})
            assert attempt.status == 400
        page = opened.page
        page.goto(service.url)
        page.get_by_label("User name").fill("intruder")
        page.get_by_label("Password").fill("another guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text(
            re.compile(r"too many sign-in attempts for this user name .*: try again in \d+ minutes"))
        assert [e for e in opened.errors if "status of 429" not in e] == []
    finally:
        opened.context.close()


def test_library_pages_searches_and_sorts_every_track(session: Page) -> None:
    names = [f"{'Étude' if i % 5 == 0 else 'riff'} {i:02d}.wav" for i in range(27)]
    add_finished_tracks(session.service, [(name, 60.0 + i) for i, name in enumerate(names)])
    page = session.page
    page.reload()
    tracks = page.get_by_role("table", name="Tracks")
    pages = page.get_by_role("navigation", name="Pages")
    expect(pages.get_by_role("status")).to_have_text(re.compile(r"Page 1 of 2 · 2\d tracks"))
    seen: list[str] = []
    while True:
        expect(tracks.get_by_role("row")).not_to_have_count(1)  # the header row alone: not loaded yet
        seen += [n for n in tracks.get_by_role("link").all_inner_texts() if n in names]
        following = pages.get_by_role("button", name="Next page")
        if following.is_disabled():
            break
        label = pages.get_by_role("status").inner_text()
        following.click()
        expect(pages.get_by_role("status")).not_to_have_text(label)
    assert sorted(seen) == sorted(names) and seen[0] == names[-1]  # every track once, newest first

    page.get_by_role("combobox", name="Sort tracks").select_option(label="Name A–Z")
    expect(pages.get_by_role("status")).to_have_text(re.compile(r"^Page 1 of"))
    expect(tracks.get_by_role("link").first).to_have_text("Étude 00.wav")  # sorted as "etude": no case, no accent
    page.get_by_role("combobox", name="Sort tracks").select_option(label="Longest first")
    expect(tracks.get_by_role("link").first).to_have_text(names[-1])
    expect(tracks.get_by_role("row", name=names[-1])).to_contain_text("1:26")  # 86 s

    page.get_by_role("searchbox", name="Search tracks").fill("ETUDE")
    expect(pages.get_by_role("status")).to_have_text("Page 1 of 1 · 6 tracks")
    expect(tracks.get_by_role("link")).to_have_text([n for n in sorted(names, reverse=True) if "Étude" in n])
    page.get_by_role("searchbox", name="Search tracks").fill("no such song")
    expect(page.get_by_text("No track name matches this search.")).to_be_visible()

    page.get_by_role("searchbox", name="Search tracks").fill("")
    page.get_by_role("combobox", name="Sort tracks").select_option(label="Newest first")
    expect(pages.get_by_role("status")).to_have_text(re.compile(r"^Page 1 of 2 · "))
    pages.get_by_role("button", name="Next page").click()
    expect(pages.get_by_role("status")).to_have_text(re.compile(r"^Page 2 of 2 · "))
    page.on("dialog", lambda dialog: dialog.accept())  # deleting the last page's tracks leads back to page 1
    last_page = tracks.get_by_role("button", name="Delete")
    remaining = last_page.count()
    assert 0 < remaining < 20
    for left in range(remaining, 0, -1):
        expect(last_page).to_have_count(left)
        last_page.first.click()
    expect(pages.get_by_role("status")).to_have_text("Page 1 of 1 · 20 tracks")
    expect(page.get_by_role("alert")).to_have_count(0)  # no "Invalid page" on the way
    assert [e for e in session.errors if "status of 404" not in e] == []  # the gone page's answer, handled


def test_question_mark_lists_the_keyboard_shortcuts(session: Page) -> None:
    page = session.page
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_hidden()
    page.get_by_role("main").click(position={"x": 2, "y": 2})  # focus on the page, not in a field
    page.keyboard.press("?")
    expect(shortcuts).to_be_visible()
    expect(shortcuts.get_by_role("row", name="Space Play or pause")).to_be_visible()
    expect(shortcuts.get_by_role("row", name="] Set the loop's end (B) at the playhead")).to_be_visible()
    expect(shortcuts.get_by_role("row")).to_have_count(9)
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    search = page.get_by_role("searchbox", name="Search tracks")
    search.fill("what?")  # typed in a field, "?" is text
    expect(search).to_have_value("what?")
    expect(shortcuts).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()  # also without a keyboard
    expect(shortcuts).to_be_visible()
    shortcuts.get_by_role("button", name="Close").click()
    expect(shortcuts).to_be_hidden()
    expect(page.get_by_role("button", name="Keyboard shortcuts")).to_be_focused()  # focus comes back
    assert session.errors == []
