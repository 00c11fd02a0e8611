"""Issue targets for the explorer on this CPU: a 64-tile grid <= 0.5 s, a 16-frame interpolation <= 0.3 s,
t-SNE of 2,000 points <= 10 s (then instant from cache), first render after server start <= 5 s."""

from __future__ import annotations

import os
import sys
import time

from .common import ROOT, Result, bundled_checkpoint, median_seconds


def grid_and_interpolation() -> list[Result]:
    import torch

    from ganlib.explorer import Explorer

    torch.set_num_threads(int(os.environ.get("GANLIB_THREADS", "1")))  # as the dashboard runs (services.py)
    explorer = Explorer.from_checkpoint(bundled_checkpoint())
    size = explorer.image_size

    def grid():  # what the Samples page computes for 64 tiles (services.samples)
        images, _ = explorer.images_and_scores(explorer.latents(range(64)))
        if explorer.classifier is not None:
            explorer.attribute_probabilities(images)

    def walk():
        explorer.interpolate(explorer.latents([1, 2]), 16, "slerp")

    return [
        Result(f"64-tile grid with D scores ({size} px)", median_seconds(grid), "s", 0.5),
        Result(f"16-frame slerp interpolation ({size} px)", median_seconds(walk), "s", 0.3),
    ]


def tsne() -> list[Result]:
    try:
        from ganlib.projection import project
    except ImportError:
        return [Result("t-SNE of 2,000 points", float("nan"), "s", 10.0, note="ganlib.projection missing")]
    import numpy as np

    from dashboard.state import URL_STATE  # the page's default iteration count

    features = np.random.default_rng(0).normal(size=(2000, 100)).astype(np.float32)
    iterations = URL_STATE["map_iterations"].default
    start = time.perf_counter()
    project(features, method="tsne", seed=0, iterations=iterations)
    return [Result(f"t-SNE of 2,000 points (100-d, {iterations} iterations)", time.perf_counter() - start, "s", 10.0)]


def first_render() -> list[Result]:
    """Server start to the first fully rendered Samples page in headless Chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import CHROMIUM, CHROMIUM_ARGS, free_port, start_server, wait_ready
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        return [Result("first render after server start", float("nan"), "s", 5.0, note="no chromium")]
    port = free_port()
    started = time.perf_counter()
    process = start_server(port, {})
    try:
        health = time.perf_counter() - started
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            opened = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            wait_ready(page)
            page.wait_for_selector("[data-testid='stImage']")
            render = time.perf_counter() - opened
            browser.close()
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
    return [
        Result("server start to health ok", health, "s"),
        Result("first render (page open to images shown)", render, "s", 5.0),
        Result("server start to first render", health + render, "s", 5.0),
    ]
