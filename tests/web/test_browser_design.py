"""The finished design (issue 22 part 7) in a real headless Chromium against the real service:

- axe-core (the npm package, read from ``node_modules`` and injected into the page: no CDN) finds no serious or
  critical violation, colour contrast included, on the library (empty, and with tracks in every state) and on a
  finished track's mixer while it plays a loop, at desktop (1280x800) and phone (390x844, 360x560) width;
- Tab reaches every control of the library and of the mixer, in document order, each with an accessible name, a
  visible focus ring and not hidden under the sticky player bar; the same check, run on deliberately broken
  controls (no name; out of the Tab order), reports them;
- screenshots of the library, the progress states and the mixer playing a loop land in the test's ``tmp_path``
  (the current ones are copied into ``harmony_split/docs/``).

Fixtures and helpers are those of ``tests/web/test_browser.py``; this module runs its own service. Needs the built
app and its npm packages (``make frontend``) and Debian's chromium; ``make test`` provides both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web import test_browser as base
from tests.web.browser import Service, add_tracks, drop_files, running_service
from tests.web.helpers import REPO
from tests.web.test_browser import Page, expect, fits_width, generated_mp3

browser = base.browser  # the fixtures of test_browser.py: one Chromium for the module, a signed-in page a test
session = base.session

AXE = REPO / "harmony_split" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 560}
MAX_UPLOAD_MB = 8

# Every element a person can see and operate: what Tab must reach. Marked with data-tab-id in document order; hidden
# and disabled ones are left out (the closed shortcuts dialog, a disabled pager button, and react-dropzone's file
# input, clipped to 1x1 px and out of the Tab order on purpose: the "Upload audio" button opens the same picker).
DESCRIBE = """const describe = (el) =>
  `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40)}"`;"""
MARK_CONTROLS = """() => {
  """ + DESCRIBE + """
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, [tabindex], [role=button], ' +
                   '[role=slider], [role=link], [role=checkbox], [role=switch], [role=tab]';
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && getComputedStyle(el).visibility !== 'hidden' &&
           !el.closest('dialog:not([open]), [inert]');
  };
  const controls = [...document.querySelectorAll(selector)].filter((el) => shown(el) && !el.disabled);
  document.querySelectorAll('[data-tab-id]').forEach((el) => el.removeAttribute('data-tab-id'));
  return controls.map((el, i) => {
    el.setAttribute('data-tab-id', String(i));
    return describe(el);
  });
}"""

# The focused element: its data-tab-id, whether a focus ring shows (a non-transparent outline or a box shadow)
# and whether it is the element seen at its own centre (not hidden under the sticky player bar).
FOCUSED = """() => {
  """ + DESCRIBE + """
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 &&
                  style.outlineColor !== 'rgba(0, 0, 0, 0)' && style.outlineColor !== 'transparent';
  const box = el.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + Math.min(box.height / 2, 12), 0), innerHeight - 1);
  const seen = document.elementFromPoint(x, y);
  return {
    id: el.getAttribute('data-tab-id'),
    what: describe(el),
    ring: outline || style.boxShadow !== 'none',
    visible: seen !== null && (el === seen || el.contains(seen)),
  };
}"""


# Controls and waveforms cut off: outside the window's width, or past the edge of an ancestor that hides overflow.
CLIPPED = """() => {
  """ + DESCRIBE + """
  const cut = [];
  for (const el of document.querySelectorAll('[data-tab-id], [role=img]')) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    if (box.left < -1 || box.right > innerWidth + 1) { cut.push(`${describe(el)}: outside the window`); continue; }
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX === 'visible') continue;
      const edge = up.getBoundingClientRect();
      if (box.left < edge.left - 1 || box.right > edge.right + 1) { cut.push(`${describe(el)}: cut off`); break; }
    }
  }
  return cut;
}"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, checkpoint_dir: Path) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("design"), checkpoint_dir, MAX_UPLOAD_MB) as running:
        yield running


def shoot(page, path: Path, full_page: bool = True) -> None:  # noqa: ANN001
    """A PNG of the page as it is, with CSS transitions finished (Playwright's ``animations="disabled"``)."""
    page.screenshot(path=path, full_page=full_page, animations="disabled")


def serious_violations(page) -> list[str]:  # noqa: ANN001 -- a Playwright Page
    """axe-core's serious and critical violations of the page as it is now, one line each (rule, help, where)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    return page.evaluate(
        """async () => {
             const result = await axe.run(document, { resultTypes: ['violations'] });
             return result.violations
               .filter((v) => v.impact === 'serious' || v.impact === 'critical')
               .map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
                           v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', '));
           }""")


def keyboard_problems(page) -> list[str]:  # noqa: ANN001
    """Tab from the top of the page through every control: what is wrong, one line each (empty when nothing is).

    A control is wrong when it (or a waveform) is cut off by the layout, when Tab never reaches it, when Tab
    reaches it out of document order, when it has no accessible name, when its focus ring does not show, or when
    it is hidden (under the sticky player bar) while focused. Tab stops that are not controls (a focusable element
    with no role) are reported too."""
    controls = page.evaluate(MARK_CONTROLS)
    problems = page.evaluate(CLIPPED)
    for i, what in enumerate(controls):
        try:
            expect(page.locator(f'[data-tab-id="{i}"]')).to_have_accessible_name(re.compile(r"\w"), timeout=500)
        except AssertionError:
            problems.append(f"{what}: no accessible name")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.click(1, 1)  # the page's top corner, outside any control: Tab starts from the document's start
    page.keyboard.press("Tab")
    stops: list[int] = []
    for _ in range(len(controls) + 5):
        focused = page.evaluate(FOCUSED)
        if focused is None or (focused["id"] is not None and int(focused["id"]) in stops):
            break  # back to the page (or around to the first control): a whole round
        if focused["id"] is None:
            problems.append(f"{focused['what']}: a Tab stop that is not a control")
        else:
            stops.append(int(focused["id"]))
            if not focused["ring"]:
                problems.append(f"{focused['what']}: no visible focus ring")
            if not focused["visible"]:
                problems.append(f"{focused['what']}: hidden while focused")
        page.keyboard.press("Tab")
    problems += [f"{controls[i]}: not reachable by Tab" for i in range(len(controls)) if i not in stops]
    if stops != sorted(stops):
        problems.append(f"Tab order is not the document order: {[controls[i] for i in stops]}")
    return problems


def named_song(folder: Path, name: str, seconds: float) -> Path:
    """A generated song (``generated_mp3``) named ``name`` (each test's own: the module shares one library)."""
    return generated_mp3(folder, seconds=seconds).rename(folder / name)


def open_mixer(page, song: Path) -> str:  # noqa: ANN001
    """Drop ``song`` (an mp3), wait until it is separated, open its mixer; its URL."""
    drop_files(page, page.get_by_role("region", name="Upload"), [(song.name, song.read_bytes(), "audio/mpeg")])
    row = page.get_by_role("row", name=song.name)
    expect(row).to_contain_text("Done", timeout=180_000)
    row.get_by_role("link", name=song.name).click()
    expect(page.get_by_role("button", name="Play")).to_be_enabled()
    return page.url


def test_library_empty_then_every_state_is_accessible_and_keyboard_reachable(session: Page, tmp_path: Path) -> None:
    page = session.page
    page.set_viewport_size(DESKTOP)
    empty = page.get_by_role("status").filter(has_text="No tracks yet.")
    expect(empty).to_contain_text("No tracks yet.")
    expect(empty).to_contain_text("Upload audio")  # the hint says how to add one
    assert serious_violations(page) == []
    shoot(page, tmp_path / "library-empty-desktop.png", full_page=False)

    add_tracks(session.service, [
        {"name": "Paper Lanterns.wav", "seconds": 241.0, "bpm": 92.0, "key": "D minor"},
        {"name": "Saltwater Waltz.flac", "seconds": 187.0, "bpm": 84.0, "key": "Bb major"},
        {"name": "Late Train Home.mp3", "seconds": 203.0, "bpm": 128.0, "key": "F# minor"},
        {"name": "voice memo 14.m4a", "seconds": 61.0, "status": "failed", "progress": 0.0,
         "error": "this file has no audio we can read"},
        {"name": "Neon Harbor.mp3", "seconds": 222.0, "status": "running", "progress": 0.42, "stage": "separating"},
        {"name": "Slow Burn (live).wav", "seconds": 305.0, "status": "running", "progress": 0.0, "stage": "loading"},
        {"name": "Copper Sky.mp3", "seconds": 176.0, "status": "queued", "progress": 0.0},
    ])
    page.reload()
    tracks = page.get_by_role("table", name="Tracks")
    expect(tracks.get_by_role("row", name="Neon Harbor.mp3")).to_contain_text("Running 42%")
    expect(tracks.get_by_role("row", name="Copper Sky.mp3")).to_contain_text("Queued (position 1)")
    expect(tracks.get_by_role("progressbar")).to_have_count(2)  # the two running tracks
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        assert fits_width(page), f"sideways scrolling at {name} width"
        assert serious_violations(page) == [], name
        shoot(page, tmp_path / f"library-{name}.png")
        assert keyboard_problems(page) == [], name

    # A running job's bar sweeps while the model loads, and stands still for those who ask for less motion.
    loading = tracks.get_by_role("row", name="Slow Burn (live).wav").get_by_role("progressbar")
    assert loading.evaluate("el => getComputedStyle(el).animationName") == "progress-sweep"
    page.emulate_media(reduced_motion="reduce")
    assert loading.evaluate("el => getComputedStyle(el).animationName") == "none"
    page.emulate_media(reduced_motion="no-preference")

    # The keyboard shortcuts dialog, open over the library.
    page.get_by_role("main").click(position={"x": 2, "y": 2})
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert serious_violations(page) == [], "shortcuts"
    shoot(page, tmp_path / "shortcuts-phone.png", full_page=False)
    page.keyboard.press("Escape")

    # Dragging songs over the page: the drop zone says what letting go does.
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.scrollTo(0, 0)")
    zone = page.get_by_role("region", name="Upload")
    song = named_song(tmp_path, "Night Drive.mp3", 30.0)
    drop_files(page, zone, [(song.name, b"", "audio/mpeg")], event="dragenter")
    expect(zone.get_by_text("Let go to add the songs")).to_be_visible()
    shoot(page, tmp_path / "upload-dragging-desktop.png", full_page=False)
    drop_files(page, zone, [(song.name, b"", "audio/mpeg")], event="dragleave")
    expect(zone.get_by_text("Drop songs here")).to_be_visible()

    # An upload in progress, over a slow connection (Chromium's own throttling: 100 kB/s up).
    network = session.context.new_cdp_session(page)
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": 100_000})
    drop_files(page, zone, [(song.name, song.read_bytes(), "audio/mpeg")])
    sending = page.get_by_role("progressbar", name=f"Upload of {song.name}")
    expect(zone).to_contain_text(re.compile(rf"Uploading {song.name}: [1-9]\d?%"), timeout=20_000)
    assert serious_violations(page) == [], "uploading"
    shoot(page, tmp_path / "upload-progress-desktop.png", full_page=False)
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": -1})
    expect(sending).to_have_count(0, timeout=60_000)
    expect(tracks.get_by_role("row", name=song.name)).to_contain_text("Done", timeout=180_000)
    assert [e for e in session.errors if "status of 404" not in e] == []


def test_mixer_playing_a_loop_is_accessible_and_every_control_is_reachable(session: Page, tmp_path: Path) -> None:
    page = session.page
    page.set_viewport_size(DESKTOP)
    open_mixer(page, named_song(tmp_path, "Velvet Hours.mp3", 12.0))
    assert keyboard_problems(page) == []

    page.get_by_role("heading", level=1).click()  # focus outside any control: the keys are the mixer's
    page.keyboard.press("ArrowRight")  # 0:05
    page.keyboard.press("[")
    page.keyboard.press("ArrowRight")  # 0:10
    page.keyboard.press("]")
    expect(page.get_by_label("Loop span")).to_have_text("A 0:05 – B 0:10")
    page.get_by_role("button", name="Loop").click()
    page.get_by_role("region", name="vocals").get_by_role("slider", name="Volume").fill("0.5")
    page.get_by_role("slider", name="Tempo").fill("85")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^0:0[6-9] / "), timeout=15_000)
    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone"), (SMALL_PHONE, "small-phone")):
        page.set_viewport_size(size)
        assert fits_width(page), f"sideways scrolling at {name} width"
        assert serious_violations(page) == [], name
        shoot(page, tmp_path / f"mixer-{name}.png", full_page=name != "small-phone")
        assert keyboard_problems(page) == [], name  # on phones: the sticky player bar hides no focused control
    expect(page.get_by_role("button", name="Pause")).to_be_visible()  # Tab and focus did not stop the music
    assert session.errors == []


def test_sign_in_page_is_accessible(browser, service: Service, tmp_path: Path) -> None:  # noqa: ANN001
    opened = Page(browser, service)
    try:
        page = opened.page
        for size, name in ((DESKTOP, "desktop"), (SMALL_PHONE, "small-phone")):
            page.set_viewport_size(size)
            page.goto(service.url)
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            assert serious_violations(page) == [], name
            assert keyboard_problems(page) == [], name
            shoot(page, tmp_path / f"sign-in-{name}.png", full_page=False)
        assert opened.errors == []
    finally:
        opened.context.close()


def test_the_keyboard_check_reports_a_nameless_and_an_unreachable_control(session: Page, tmp_path: Path) -> None:
    """The check above is only worth its green if it goes red: the mixer's own Download link taken out of the Tab
    order, and a button with an icon and no name, are reported (as axe reports the nameless one)."""
    page = session.page
    page.set_viewport_size(DESKTOP)
    open_mixer(page, named_song(tmp_path, "broken controls.mp3", 4.0))
    page.evaluate("""() => {
      document.querySelector('section[aria-label=vocals] a').setAttribute('tabindex', '-1');
      const nameless = document.createElement('button');
      nameless.innerHTML = '<svg width="16" height="16" aria-hidden="true"><circle cx="8" cy="8" r="6"/></svg>';
      document.querySelector('section[aria-label=accompaniment] .stem-controls').append(nameless);
    }""")
    problems = keyboard_problems(page)
    assert any(re.match(r'^a "Download": not reachable by Tab$', p) for p in problems), problems
    assert any(re.match(r'^button "": no accessible name$', p) for p in problems), problems
    assert any(v.startswith("button-name (critical)") for v in serious_violations(page))
