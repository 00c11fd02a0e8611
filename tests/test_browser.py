"""The browser suite: Debian Chromium against a real `streamlit run` server on the bundled checkpoints.

Every page is visited, its main actions clicked, and images/charts asserted present with no exception on the page.
Screenshots go to tests/artifacts/screenshots/ (and to docs/screenshots/ for the README with UPDATE_SCREENSHOTS=1).
"""
from __future__ import annotations

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
