"""Presentation mode on a 1280×720 projector, in Chromium: each page's key picture or chart is on screen, drawn,
without scrolling, and the floating Exit bar covers none of it. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

import os

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, start_server, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
SCREEN = {"width": 1280, "height": 720}

# each page's key picture: every element the selector matches must be on screen
KEY_PICTURES = {
    "samples": "[data-testid='stMain'] [data-testid='stImage']",  # the whole grid, every tile
    "interpolate": ".st-key-norm_chart [data-testid='stPlotlyChart']",
    "arithmetic": ".st-key-analogy_result [data-testid='stImage']",
    "map": ".st-key-map_chart [data-testid='stPlotlyChart']",
    "game": ".st-key-toy_density_chart [data-testid='stPlotlyChart']",
}
LIVE_CHART = ".st-key-toy_live svg.live-chart"  # the game's main chart while it plays

# whether an element shows something: a loaded image, or a chart with a drawn line or markers
DRAWN = """e => [...e.querySelectorAll('img')].some(i => i.complete && i.naturalWidth > 0)
  || [...e.querySelectorAll('.scatterlayer .trace path, path.trace, path.point')]
       .some(p => (p.getAttribute('d') || '').length > 20)"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    process = start_server(port, {"GANLIB_RUNS": str(tmp_path_factory.mktemp("runs")), "OMP_NUM_THREADS": "1"})
    yield f"http://127.0.0.1:{port}"
    os.killpg(process.pid, 15)
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=SCREEN)
    page = context.new_page()
    page.set_default_timeout(180_000)
    yield page
    context.close()


def assert_on_screen(page, selector: str, name: str) -> None:
    """Every element matching ``selector`` is drawn, lies inside the screen, and is not under the Exit bar."""
    elements = page.locator(selector)
    expect(elements.first).to_be_visible(timeout=180_000)
    bar = page.locator(".st-key-presentation_bar").bounding_box()
    for index in range(elements.count()):
        element = elements.nth(index)
        page.wait_for_function(f"e => ({DRAWN})(e)", arg=element.element_handle(), timeout=60_000)
        box = element.bounding_box()
        assert box["width"] > 50 and box["height"] > 50, (name, index, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], (name, index, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"], (name, index, box)
        overlaps = (
            box["x"] < bar["x"] + bar["width"]
            and bar["x"] < box["x"] + box["width"]
            and box["y"] < bar["y"] + bar["height"]
            and bar["y"] < box["y"] + box["height"]
        )
        assert not overlaps, (name, index, box, bar)


@pytest.mark.parametrize("name", list(KEY_PICTURES))
def test_the_key_picture_fits_a_1280_by_720_projector(page, server, name):
    page.goto(f"{server}/{name}?present=1")
    wait_ready(page, 180_000)
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    assert_on_screen(page, KEY_PICTURES[name], name)
    # measured where the page opens: nothing has scrolled the main area
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollTop") == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"presenting_{name}.png"))
    if name == "game":  # playing, the chart is an SVG that scales with its column: it fits too
        page.locator(".st-key-toy_play button").click()
        expect(page.locator(LIVE_CHART)).to_have_count(5, timeout=60_000)
        assert_on_screen(page, f"{LIVE_CHART} >> nth=0", "game, playing")
        page.screenshot(path=str(ARTIFACTS / "presenting_game_playing.png"))
        page.locator(".st-key-toy_pause button").click()
        wait_ready(page, 180_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
