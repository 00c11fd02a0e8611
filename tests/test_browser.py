"""The browser suite: Debian Chromium against a real `streamlit run` server on the bundled checkpoints.

Every page is visited, its main actions clicked, and images/charts asserted present with no exception on the page.
Screenshots go to tests/artifacts/screenshots/ (and to docs/screenshots/ for the README with UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, full_page_screenshot, start_server, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"
README_SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    port = free_port()
    process = start_server(port, {"GANLIB_RUNS": str(runs), "OMP_NUM_THREADS": "1"})
    yield f"http://127.0.0.1:{port}"
    os.killpg(process.pid, 15)
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary profile, as the notes require
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    context.close()


def open_page(page, server, path="", query=""):
    page.goto(f"{server}/{path}{'?' + query if query else ''}")
    wait_ready(page)
    return page


def screenshot(page, name):
    path = ARTIFACTS / f"{name}.png"
    full_page_screenshot(page, path)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / f"{name}.png")


def no_exception(page):
    expect(page.get_by_test_id("stException")).to_have_count(0)


def click(page, key):
    page.locator(f".st-key-{key} button").first.click()


def test_samples_page_grid_pin_and_bookmark(page, server):
    open_page(page, server)
    expect(page.get_by_test_id("stImage")).to_have_count(16)
    expect(page.get_by_text("Seeds 0–15")).to_be_visible()
    click(page, "pin_2")
    expect(page.locator(".st-key-pin_2 button")).to_contain_text("pinned")
    expect(page).to_have_url(re.compile(r"pins=2"))
    no_exception(page)
    screenshot(page, "samples")
    # the bookmark reproduces the view
    open_page(page, server, "", "seed=40&n=36&psi=0.7")
    expect(page.get_by_text("Seeds 40–75")).to_be_visible()
    expect(page.get_by_test_id("stImage")).to_have_count(36)
    no_exception(page)


def test_bad_upload_keeps_the_model(page, server, tmp_path):
    open_page(page, server)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"this is not a checkpoint at all" * 20)
    page.locator("[data-testid='stSidebar'] input[type='file']").set_input_files(str(junk))
    expect(page.get_by_text(re.compile("junk.safetensors: not a safetensors file"))).to_be_visible()
    expect(page.get_by_test_id("stImage")).to_have_count(16)  # the current model is still loaded
    no_exception(page)


def test_presentation_mode(page, server):
    open_page(page, server, "", "present=1")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.locator(".st-key-seed")).to_have_count(0)  # controls hidden
    expect(page.get_by_test_id("stImage").first).to_be_visible()
    no_exception(page)
    click(page, "exit_presentation")
    wait_ready(page)
    expect(page.locator(".st-key-seed")).to_have_count(1)


def test_interpolate_page(page, server):
    open_page(page, server, "interpolate", "ends=3,17&frames=12")
    expect(page.locator(".st-key-norm_chart .js-plotly-plot")).to_be_visible()
    expect(page.get_by_text("lerp", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stImage").nth(3)).to_be_visible(
        timeout=60_000
    )  # two strips and two animations at least
    expect(page.get_by_text(re.compile(r"ganlib interpolate .* --seeds 3 17"))).to_be_visible()
    no_exception(page)
    screenshot(page, "interpolate")


def test_arithmetic_one_click_sunglasses(page, server):
    open_page(page, server, "arithmetic")
    no_exception(page)
    click(page, "demo_sunglasses")
    wait_ready(page)
    expect(page.get_by_text("sunglasses added")).to_be_visible(timeout=180_000)  # measured success rate
    expect(page.get_by_text(re.compile("random direction")).first).to_be_visible()
    expect(page.get_by_test_id("stImage").nth(1)).to_be_visible(
        timeout=60_000
    )  # the rows of 8 faces before and after the edit
    expect(page).to_have_url(re.compile(r"dir=sunglasses"))
    no_exception(page)
    screenshot(page, "arithmetic")


def lasso_centre(page, drag_layer, steps=40):
    """Draw a closed lasso around the middle of a plotly chart's drag layer (its dragmode is lasso)."""
    drag_layer.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = drag_layer.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    radius_x, radius_y = box["width"] * 0.15, box["height"] * 0.15
    page.mouse.move(centre_x + radius_x, centre_y)
    page.mouse.down()
    for step in range(1, steps + 1):
        angle = 2 * math.pi * step / steps
        page.mouse.move(centre_x + radius_x * math.cos(angle), centre_y + radius_y * math.sin(angle), steps=2)
    page.mouse.up()
    wait_ready(page)


def test_latent_map_compute_and_select(page, server):
    open_page(page, server, "map", "points=400")
    click(page, "map_compute")
    chart = page.locator(".st-key-map_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=180_000)
    wait_ready(page)
    lasso_centre(page, page.locator(".st-key-map_chart .nsewdrag").first)
    expect(page.locator(".st-key-map_pin button").first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=60_000)  # the selected seeds' images
    expect(page.locator(".st-key-map_csv button").first).to_be_visible()
    no_exception(page)
    screenshot(page, "latent_map")


def test_training_from_the_sidebar(page, server):
    open_page(page, server, "training")
    page.get_by_text("Train a model").first.click()
    page.locator(".st-key-train_dataset").get_by_text("Digits").click()
    wait_ready(page)
    steps = page.locator(".st-key-train_steps input")
    steps.fill("40")
    steps.press("Enter")
    wait_ready(page)
    click(page, "training_start")
    # the run starts in its own process; the page follows it live and says when it has finished
    main = page.get_by_test_id("stMainBlockContainer")
    expect(main.get_by_test_id("stAlertContentSuccess").filter(has_text="finished")).to_be_visible(timeout=240_000)
    wait_ready(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stImage").nth(0)).to_be_visible(timeout=60_000)  # the latest sample grid
    no_exception(page)
    screenshot(page, "training")


def test_gan_game_steps_and_plays(page, server):
    open_page(page, server, "game", "game_preset=two+modes")
    for _ in range(3):
        click(page, "toy_step")
        wait_ready(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    click(page, "toy_play")
    page.wait_for_timeout(6000)
    click(page, "toy_pause")
    wait_ready(page)
    step_value = page.get_by_test_id("stMetricValue").first.inner_text()
    assert int(step_value.replace(",", "")) > 3  # playing trained further than the three single steps
    no_exception(page)
    screenshot(page, "gan_game")
