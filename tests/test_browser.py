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
expect.set_options(timeout=30_000)  # a busy 2-core CI runner renders a popover in more than the default 5 s
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


def share_link(page) -> str:
    """The link in the sidebar's "Copy link to this view" popover."""
    page.get_by_test_id("stSidebar").get_by_text("Copy link to this view").click()
    code = page.get_by_test_id("stPopoverBody").locator("code").first
    expect(code).to_be_visible()
    link = code.inner_text().strip()
    page.keyboard.press("Escape")
    return link


def test_every_page_has_its_own_path_and_the_shared_link_opens_it(page, server):
    open_page(page, server, "samples", "seed=40")  # "Page not found" before: the default page answered at / only
    expect(page.get_by_text("Seeds 40–55")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    open_page(page, server, "", "seed=40")  # the root opens the Samples page at its own path, query kept
    expect(page).to_have_url(re.compile(r"/samples\?.*seed=40"))
    expect(page.get_by_text("Seeds 40–55")).to_be_visible()
    link = share_link(page)
    assert re.search(r"/samples\?.*seed=40", link), link
    page.goto(link)
    wait_ready(page)
    expect(page.get_by_text("Seeds 40–55")).to_be_visible()
    for path, header in (("interpolate", "Interpolate"), ("map", "Latent map"), ("game", "How a GAN learns")):
        open_page(page, server, path)
        expect(page.get_by_role("heading", name=header)).to_be_visible()
        link = share_link(page)
        assert f"/{path}" in link, link
        page.goto(link)
        wait_ready(page)
        expect(page.get_by_role("heading", name=header)).to_be_visible()
        expect(page.get_by_text("Page not found")).to_have_count(0)
    no_exception(page)


def test_the_speakers_controls_are_on_screen_in_a_900_px_window(page, server):
    open_page(page, server, "samples")
    sidebar = page.get_by_test_id("stSidebar")
    for control in (sidebar.get_by_text("Copy link to this view"), page.locator(".st-key-presentation")):
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["y"] + box["height"] <= 900, box  # no scrolling of the sidebar to reach them
    card = page.locator(".st-key-model_card")
    expect(card).to_be_visible()
    expect(card.get_by_text("Latent dim")).to_be_hidden()  # folded until opened
    card.get_by_text("Model card").click()
    expect(card.get_by_text("Latent dim")).to_be_visible()


def test_everything_is_served_by_the_app_itself(browser, server):
    """Offline, a request to another host fails (the tab icon came from a font CDN, a console error). Every request
    goes to the app's own server, and the console shows no error but Streamlit's own probes: opened at /map, its
    frontend first asks /map/_stcore/health and host-config (404) to find the app's base path."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    requests, failed, errors = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    for path in ("samples", "interpolate", "map", "game"):
        open_page(page, server, path)
        expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
        page.wait_for_timeout(1000)
    icon = page.locator("link[rel~='icon']").first.get_attribute("href")
    context.close()
    outside = [url for url in requests if not url.startswith((server, "data:", "blob:"))]
    assert not outside, outside
    probes = re.compile(rf"{re.escape(server)}/(samples|interpolate|map|game)/_stcore/(health|host-config)$")
    assert all(probes.match(url) for url in failed), failed
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    assert len(errors) <= len(failed)
    assert icon and icon.startswith(("/", server)) and "gstatic" not in icon


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


def test_arithmetic_components_named_moved_and_measured(page, server):
    open_page(page, server, "arithmetic", "mode=Components&pins=3&cstrength=3")  # the strength starts at 0
    component = page.locator(".st-key-component")
    expect(component.get_by_text(re.compile(r"^PC1 · "))).to_be_visible(timeout=180_000)  # found and named once
    expect(page.get_by_text("pixels changed (of 255)")).to_be_visible()
    expect(page.get_by_text("random direction:").first).to_be_visible()
    expect(page.locator(".st-key-component_pins img")).to_be_visible()  # the pinned face moves too
    component.get_by_text(re.compile(r"^SeFa 3 · ")).click()
    expect(page.get_by_text("bottom: after +3.0 along SeFa 3").first).to_be_visible(timeout=60_000)  # both rows say it
    slider = page.locator(".st-key-component_strength input[type=range]")
    slider.focus()
    page.keyboard.press("ArrowLeft")  # one step of the slider: 0.5
    expect(page.get_by_text("bottom: after +2.5 along SeFa 3").first).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"comp=sefa3.*cstrength=2\.5|cstrength=2\.5.*comp=sefa3"))
    no_exception(page)
    screenshot(page, "arithmetic_components")


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


def test_latent_map_on_arrival_select_and_pin(page, server):
    open_page(page, server, "map")
    chart = page.locator(".st-key-map_chart .js-plotly-plot")
    expect(chart).to_be_visible(timeout=180_000)  # the default PCA map, without pressing Compute
    wait_ready(page)
    lasso_centre(page, page.locator(".st-key-map_chart .nsewdrag").first)
    pins = page.locator("[class*='st-key-map_pin_'] button")
    expect(pins.first).to_be_visible(timeout=60_000)  # one pin button under each face shown
    expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=60_000)  # the selected seeds' images
    expect(page.locator(".st-key-map_csv button").first).to_be_visible()
    seed = pins.first.locator("xpath=ancestor::*[contains(@class, 'st-key-map_pin_')][1]").get_attribute("class")
    seed = re.search(r"st-key-map_pin_(\d+)", seed).group(1)
    pins.first.click()
    wait_ready(page)
    expect(page).to_have_url(re.compile(rf"pins={seed}(&|$)"))  # only the face clicked
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


# every 100 ms, inside the page: how many element containers of the main area are visibly greyed (stale, fading)
GREY_SAMPLER = """() => { window._greyed = []; window._sampler = setInterval(() => {
  const all = [...document.querySelectorAll('[data-testid="stMain"] .stElementContainer')];
  window._greyed.push(all.filter(e => parseFloat(getComputedStyle(e).opacity) < 0.9).length); }, 100); }"""


@pytest.mark.parametrize("speed", ["normal", "fast"])
def test_gan_game_steps_and_plays_without_greying_the_page(page, server, speed):
    open_page(page, server, "game", f"game_preset=two+modes&game_speed={speed}")
    for _ in range(3):
        click(page, "toy_step")
        wait_ready(page)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    click(page, "toy_play")
    page.wait_for_timeout(1000)
    page.evaluate(GREY_SAMPLER)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in range(3):  # screenshots taken while playing (tests/artifacts/screenshots/)
        page.wait_for_timeout(2000)
        page.screenshot(path=str(ARTIFACTS / f"gan_game_playing_{speed}_{shot}.png"))
    greyed = page.evaluate("() => { clearInterval(window._sampler); return window._greyed; }")
    click(page, "toy_pause")
    wait_ready(page)
    assert greyed and not any(greyed), greyed  # no element faded as stale in any sample while playing
    step_value = page.get_by_test_id("stMetricValue").first.inner_text()
    assert int(step_value.replace(",", "")) > 3  # playing trained further than the three single steps
    no_exception(page)
    if speed == "normal":
        screenshot(page, "gan_game")


def test_two_people_press_start_at_once_and_the_refused_one_is_told(browser, server):
    """Two browser sessions press Start within a second: one run starts, the other session says which run trains
    and that anyone can stop it; once it ends, the refused session's form is back with no stale message."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    try:
        for page in pages:
            page.set_default_timeout(90_000)
            open_page(page, server, "samples")
            page.get_by_text("Train a model").first.click()
            page.locator(".st-key-train_dataset").get_by_text("Digits").click()
            wait_ready(page)
        for page in pages:  # as close together as two people can
            page.locator(".st-key-training_start button").click()
        for page in pages:
            expect(page.locator(".st-key-training_panel_stop button").first).to_be_visible(timeout=120_000)
        told = "Your run was not started"
        refused = [p for p in pages if p.get_by_text(told).count()]
        sidebars = [p.get_by_test_id("stSidebar").inner_text()[:600] for p in pages]
        assert len(refused) == 1, sidebars  # exactly one start went through; the other session was told
        no_exception(refused[0])
        refused[0].locator(".st-key-training_panel_stop button").first.click()  # anyone can stop it
        expect(refused[0].get_by_text("Train a model").first).to_be_visible(timeout=60_000)  # the form is back
        expect(refused[0].get_by_text(told)).to_have_count(0)
        no_exception(refused[0])
    finally:
        for context in contexts:
            context.close()
