"""Browser suite, your own image: Debian Chromium against a real `streamlit run` server on the bundled toonfaces64.

A held-out face is uploaded and found (its reconstruction beside it), sunglasses are added to it on the Arithmetic
page, and the copied link, opened in a fresh browser context with no upload, shows the same edit; a face drawn on the
canvas is found too. Projection runs with the page's defaults (2 starts x 150 steps from the encoder), as a user
gets it. Screenshots go to tests/artifacts/screenshots/ (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from browser_support import CHROMIUM, wait_ready
from PIL import Image
from test_browser import browser, expect, no_exception, open_page, page, screenshot, server, share_link  # noqa: F401

from ganlib.data.toonfaces import HELD_OUT_SEED, render_toonfaces

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def held_out_face(tmp_path, index=0):
    path = tmp_path / f"face{index}.png"
    face = render_toonfaces(index + 1, seed=HELD_OUT_SEED)[0][index]
    Image.fromarray(face).resize((200, 200), Image.Resampling.BICUBIC).save(path)
    return path


def test_upload_find_add_sunglasses_and_open_the_link_in_a_fresh_context(page, server, browser, tmp_path):  # noqa: F811
    open_page(page, server, "your-image")
    expect(page.get_by_text("Nothing pinned yet")).to_be_visible()
    page.locator("[data-testid='stMain'] input[type='file']").set_input_files(str(held_out_face(tmp_path)))
    expect(page.get_by_text(re.compile(r"Found in [0-9.]+ s"))).to_be_visible(timeout=180_000)
    wait_ready(page)
    result = page.locator(".st-key-result_0")
    expect(result.get_by_test_id("stImage")).to_have_count(2)  # the picture and G(z), side by side
    expect(result.get_by_text("face0.png")).to_be_visible()
    psnr = float(result.get_by_test_id("stMetricValue").inner_text().removesuffix(" dB"))
    assert psnr > 15, psnr  # random samples score about 10 dB
    expect(page.locator(".st-key-pinned_0").get_by_text("your image 1")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]z=z1\.[A-Za-z0-9_-]{267}(&|$)"))  # the latent, not the picture
    no_exception(page)
    screenshot(page, "your_image")

    page.locator(".st-key-sunglasses_on_images button").click()
    wait_ready(page)
    after = page.locator(".st-key-edit_yours_after")
    expect(after.get_by_text(re.compile(r"the classifier sees sunglasses on [01] of 1"))).to_be_visible(timeout=240_000)
    expect(after.get_by_test_id("stImage")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/arithmetic\?.*dir=sunglasses"))
    no_exception(page)
    screenshot(page, "your_image_sunglasses")
    link = share_link(page)
    assert re.search(r"/arithmetic\?.*z=z1\.", link), link

    fresh = browser.new_context(viewport={"width": 1400, "height": 900})  # no session, no upload: the link alone
    try:
        other = fresh.new_page()
        other.set_default_timeout(90_000)
        other.goto(link)
        wait_ready(other)
        expect(other.locator(".st-key-edit_yours_after").get_by_test_id("stImage")).to_have_count(1, timeout=240_000)
        expect(other.get_by_text("Your images, before")).to_be_visible()
        other.get_by_test_id("stSidebarNav").get_by_text("Your image").click()
        wait_ready(other)
        expect(other.locator(".st-key-pinned_0").get_by_text("your image 1")).to_be_visible()
        expect(other.locator(".st-key-pinned_0").get_by_test_id("stImage")).to_have_count(1)
        expect(other.get_by_text("face0.png")).to_have_count(0)  # the picture itself never left the first browser
        no_exception(other)
    finally:
        fresh.close()


def test_a_face_drawn_on_the_canvas_is_found(page, server):  # noqa: F811
    """The canvas's script comes from the app's own server: offline, nothing is fetched from anywhere else."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    open_page(page, server, "your-image")
    page.locator("[data-testid='stMain']").get_by_text("Draw", exact=True).click()
    wait_ready(page)
    canvas = page.locator("[data-testid='stMain'] canvas").last
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x + 80, centre_y)
    page.mouse.down()
    for step in range(1, 41):  # a head
        angle = 2 * math.pi * step / 40
        page.mouse.move(centre_x + 80 * math.cos(angle), centre_y + 95 * math.sin(angle), steps=2)
    page.mouse.up()
    wait_ready(page)
    expect(page.locator(".st-key-project_drawing button")).to_be_enabled()  # the drawing reached the server
    page.locator(".st-key-project_drawing button").click()
    expect(page.get_by_text("your drawing", exact=True)).to_be_visible(timeout=180_000)
    expect(page.locator(".st-key-pinned_0").get_by_test_id("stImage")).to_have_count(1)
    no_exception(page)
    assert not [url for url in requests if not url.startswith((server, "data:", "blob:"))]
