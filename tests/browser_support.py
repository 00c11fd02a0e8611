"""A real `streamlit run` server and Debian's Chromium for the browser suite (see shared/notes/streamlit-testing.md).

Playwright drives /usr/bin/chromium; `playwright install` is never run (it downloads a browser, which fails here).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The 1-D GAN game's live area (tests/test_browser_game.py, benchmarks/bench_stage.py): five charts, density first.
CHARTS = 5  # density, value, JSD, loss, gradient

# On every animation frame: whether the main (first) chart of the live area has a drawn line (a path with data),
# whether all five charts are there at full size (the history charts have no line yet at step 0), and how many
# distinct nodes the main chart has been (a remount makes a new one).
FRAME_SAMPLER = """() => {
  const s = window._frames = {painted: 0, main_empty: 0, fewer_charts: 0, nodes: 0, stop: false};
  const seen = new WeakSet();
  const drawn = chart => [...chart.querySelectorAll('.scatterlayer .trace path, path.trace')]
      .some(p => (p.getAttribute('d') || '').length > 20) && chart.getBoundingClientRect().height > 100;
  const tick = () => {
    if (s.stop) return;
    s.painted++;
    const charts = [...document.querySelectorAll('.st-key-toy_live .js-plotly-plot, .st-key-toy_live svg.live-chart')];
    if (!charts.length || !drawn(charts[0])) s.main_empty++;
    if (charts.filter(c => c.getBoundingClientRect().height > 100).length < CHARTS) s.fewer_charts++;
    if (charts.length && !seen.has(charts[0])) { seen.add(charts[0]); s.nodes++; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}""".replace("CHARTS", str(CHARTS))

READY = "[data-testid='stApp'][data-test-script-state='notRunning'][data-test-connection-state='CONNECTED']"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "dashboard" / "app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return process
        except OSError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"streamlit did not start: {process.stdout.read().decode()[-2000:]}")


def wait_ready(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector(READY, timeout=timeout_ms)


def full_page_screenshot(page, path: Path) -> None:
    """stMain is the scroll container, so grow the viewport to its height first."""
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); "
        "return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": max(800, min(int(height) + 40, 6000))})
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})
