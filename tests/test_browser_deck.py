"""The talk deck in Debian's Chromium: build a three-slide deck, step through it with the keys in presentation mode,
then open the exported offline file with the server stopped and step through it too."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, start_server, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=30_000)
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"


def add_slide(page, title: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text("Add this view to the deck").click()
    field = page.locator(".st-key-deck_title input")
    expect(field).to_be_visible()
    field.fill(title)
    field.press("Enter")
    wait_ready(page)
    page.locator(".st-key-deck_add button").click()
    expect(page.get_by_text("Added slide")).to_be_visible()
    page.keyboard.press("Escape")
    wait_ready(page)


def go_to(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_ready(page)


def test_a_three_slide_deck_steps_with_the_keys_and_its_offline_file_works_without_the_server(tmp_path):
    port = free_port()
    server = start_server(port, {"GANLIB_RUNS": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{url}/samples?seed=40")
            wait_ready(page)
            expect(page.get_by_text("Seeds 40–55")).to_be_visible()
            add_slide(page, "Forty faces")
            go_to(page, "Interpolate")
            expect(page.get_by_role("heading", name="Interpolate")).to_be_visible()
            add_slide(page, "A walk")
            go_to(page, "Samples")
            seed = page.locator(".st-key-seed input")
            seed.fill("60")
            seed.press("Enter")
            expect(page.get_by_text("Seeds 60–75")).to_be_visible()
            add_slide(page, "Sixty faces")
            go_to(page, "Deck")
            for index, title in enumerate(("Forty faces", "A walk", "Sixty faces")):
                expect(page.locator(f".st-key-deck_slide_{index} input")).to_have_value(title)

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "deck.png"))
            with page.expect_download() as download:
                page.locator(".st-key-deck_export button").first.click()
            offline = tmp_path / "deck.html"
            download.value.save_as(offline)

            page.locator(".st-key-deck_present button").first.click()
            wait_ready(page)
            expect(page.get_by_text("Seeds 40–55")).to_be_visible()
            expect(page.get_by_test_id("stSidebar")).to_be_hidden()  # presentation mode
            expect(page.get_by_text("Slide 1 of 3")).to_be_visible()
            expected = [
                ("ArrowRight", page.get_by_role("heading", name="Interpolate")),
                ("ArrowRight", page.get_by_text("Seeds 60–75")),
                ("ArrowRight", page.get_by_text("Seeds 60–75")),  # the last slide stays
                ("ArrowLeft", page.get_by_role("heading", name="Interpolate")),
                ("PageUp", page.get_by_text("Seeds 40–55")),
                ("PageDown", page.get_by_role("heading", name="Interpolate")),
            ]
            for key, shown in expected:
                page.locator("body").press(key)
                expect(shown).to_be_visible()
                wait_ready(page)
            page.screenshot(path=str(ARTIFACTS / "deck_presenting.png"))
            expect(page).to_have_url(re.compile(r"/interpolate"))
            expect(page.get_by_test_id("stException")).to_have_count(0)
            context.close()
            os.killpg(server.pid, 15)  # the speaker's backup: no server
            server.wait(timeout=20)

            backup = browser.new_context(viewport={"width": 1280, "height": 720}, offline=True).new_page()
            backup.goto(offline.as_uri())
            slides = backup.locator("section.slide")
            expect(slides).to_have_count(3)
            expect(backup.locator("#slide-1")).to_be_visible()
            expect(backup.locator("#slide-1 img")).to_be_visible()
            assert backup.locator("#slide-1 img").evaluate("img => img.naturalWidth") > 0
            backup.keyboard.press("ArrowRight")
            expect(backup.locator("#slide-2")).to_be_visible()
            expect(backup.locator("#slide-1")).to_be_hidden()
            expect(backup.locator("#slide-2 h1")).to_have_text("A walk")
            expect(backup.locator("#slide-2 footer")).to_contain_text(f"{url}/interpolate?")  # the live view's link
            assert backup.locator("#slide-2 img").evaluate("img => img.naturalWidth") > 0
            backup.keyboard.press("PageDown")
            expect(backup.locator("#slide-3 h1")).to_have_text("Sixty faces")
            backup.screenshot(path=str(ARTIFACTS / "deck_offline.png"))
            browser.close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=20)
