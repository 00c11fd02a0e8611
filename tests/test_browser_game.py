"""The 1-D GAN game in Chromium: while it plays, every painted frame has its charts drawn.

Plotly charts whose figure changes are unmounted and drawn anew by Streamlit, and a busy browser painted frames
with an empty chart box in between (the live charts are inline SVG while playing: dashboard/svg_chart.py). This
test samples every animation frame inside the page and takes screenshots of the main chart while the game plays.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from browser_support import (
    CHARTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FRAME_SAMPLER,
    ROOT,
    free_port,
    start_server,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")
expect = playwright_api.expect
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
LIVE_CHARTS = ".st-key-toy_live svg.live-chart"
MAIN_CHART = ".st-key-toy_live [data-testid='stPlotlyChart'], .st-key-toy_live svg.live-chart"


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


def coloured_fraction(png: bytes) -> float:
    """The share of pixels in a chart's colours (saturated: the blue, orange, green and purple lines and fills);
    the page's background, grid and text are white or grey."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).mean())


@pytest.mark.parametrize("speed", ["slow", "normal", "fast"])
def test_the_game_draws_its_charts_in_every_frame_while_playing(browser, server, speed):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{server}/game?game_preset=two+modes&game_speed={speed}")
        wait_ready(page, 120_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
        page.locator(".st-key-toy_play button").click()
        # from here on the game plays (Play itself swaps plotly for the live charts once)
        expect(page.locator(LIVE_CHARTS)).to_have_count(CHARTS, timeout=60_000)
        page.evaluate(FRAME_SAMPLER)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        coloured = []
        for shot in range(8):  # screenshots of the main chart's box while playing
            page.wait_for_timeout(600)
            chart = page.locator(MAIN_CHART).first
            box = chart.bounding_box() if chart.count() else None
            if box is None or box["height"] < 100:
                coloured.append(0.0)
                continue
            png = page.screenshot(clip=box)
            (ARTIFACTS / f"gan_game_chart_{speed}_{shot}.png").write_bytes(png)
            coloured.append(coloured_fraction(png))
        frames = page.evaluate("() => { window._frames.stop = true; return window._frames; }")
        load = os.getloadavg()[0]
        print(f"{speed}: {frames} coloured {[round(c, 3) for c in coloured]} load {load:.1f}")
        assert frames["painted"] >= 5, frames  # the sampler ran through the play
        assert frames["main_empty"] == 0, frames  # no painted frame without the main chart's lines
        assert frames["fewer_charts"] == 0, frames  # nor without the box of any of the others
        assert min(coloured) > 0.01, coloured  # every screenshot shows the chart's coloured lines and fills
        step = int(page.get_by_test_id("stMetricValue").first.inner_text().replace(",", ""))
        page.locator(".st-key-toy_pause button").click()
        wait_ready(page, 120_000)
        assert step > 0  # it played
        # paused, plotly draws the same figures, with hover and zoom
        expect(page.locator(".st-key-toy_live .js-plotly-plot")).to_have_count(CHARTS, timeout=60_000)
        expect(page.locator(LIVE_CHARTS)).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        context.close()
