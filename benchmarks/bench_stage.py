"""Issue 15, the talk demo in a real browser: a `streamlit run` server and Debian's Chromium (playwright).

Each run starts fresh servers and times what the audience waits for:
- cold start -> the sunglasses demo's picture: server launch, open /arithmetic, click "Add sunglasses", until the
  before/after rows are drawn (target <= 5 s), once with an empty direction cache (the first time ever on this
  machine) and once with the cache the previous server wrote (every later start);
- changes on the Arithmetic page with the demo shown: method, strength, attribute (target <= 1 s each);
- the Components mode: its first view (components found and named, from an empty cache unless the idle warm-up got
  there first), then a new strength and another component (target <= 1 s each);
- opening each page from the sidebar once the server is warm, after a pause of WARM_PAUSE_SECONDS (target <= 2 s);
- the Latent map's Compute of a t-SNE of 2,000 points once the server is warm (its warm-up done: the server's CPU
  idle), with the form's defaults and then with perplexity 40, which the warm-up cannot have guessed (target <= 5 s);
- the 1-D GAN game playing for 10 s: frames painted per second, and frames with a blank main chart or a missing
  chart (target: none);
- Stop on a live training run until the Training page says it stopped (target <= 3 s).

    python -m benchmarks.bench_stage              # 10 runs, p50 and p95 of each figure against its target
    python -m benchmarks.bench_stage --runs 3 --json stage.json
    python -m benchmarks.bench_stage --with-training   # the same while a sidebar-sized training run trains beside it
    python -m benchmarks.bench_stage --cold-only        # only the cold starts, first paint included (quicker)
    python -m benchmarks.bench_stage --cold-only --root /tmp/old   # another checkout's dashboard, to compare

Not part of the test suite. It needs /usr/bin/chromium and playwright (never `playwright install`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .common import ROOT, Result

sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHARTS, CHROMIUM, CHROMIUM_ARGS, FRAME_SAMPLER, READY, free_port  # noqa: E402

TIMEOUT_MS = 180_000
COLD_TARGET, CHANGE_TARGET, PAGE_TARGET, STOP_TARGET, MAP_TARGET = 5.0, 1.0, 2.0, 3.0, 5.0
COLD_TARGET_WITH_TRAINING = 8.0  # the cold start while a training run shares the CPU
PAINT_TARGET = 1.0  # the browser opens the page -> the app's frame and title are on screen
TITLE = "GAN Latent Explorer"
MAP_POINTS, MAP_PERPLEXITY = 2000, 40  # the t-SNE timed on the Latent map, and the perplexity of its second Compute
# the sidebar link's text -> the page's header once drawn, in the order a talk might visit them
PAGES = {
    "Samples": "Samples",
    "Interpolate": "Interpolate",
    "Latent map": "Latent map",
    "Training": "Training",
    "How a GAN learns": "How a GAN learns",
    "Arithmetic": "Latent arithmetic",
}
# a warm server: the dashboard's warm-up imports what other pages need (scikit-learn, torch._dynamo) once the server
# has been idle for 2 s (services.IDLE_SECONDS); the pause before the pages open gives it that, as a talk would
WARM_PAUSE_SECONDS = 8.0
# the Stop measurement: the sidebar form's data set and size, steps enough to be still training when Stop comes
STOP_RUN = {"dataset": "toonfaces", "image_size": 32, "steps": 100_000}
# --with-training: a run as the sidebar starts it by default, in a runs folder of its own (the app's Stop figure
# starts and stops its own run), training for the whole measurement
BACKGROUND_RUN = {"dataset": "toonfaces", "image_size": 32, "steps": 1_000_000}


def cpu_flags() -> str:
    """The instruction sets that change torch's speed here (AMX, AVX-512), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = sorted(set(re.findall(r"\b(amx\w*|avx512\w*)\b", text)))
    return " ".join(flags) or "no amx, no avx512"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), without numpy."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Server:
    """`streamlit run dashboard/app.py` on a free port, its output in a log file (a pipe nobody reads fills up)."""

    def __init__(self, env: dict, log: Path, root: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "streamlit", "run", str(root / "dashboard" / "app.py")]
        command += ["--server.headless", "true", "--server.port", str(self.port), "--server.address", "127.0.0.1"]
        command += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self.log = open(log, "ab")  # noqa: SIM115 (closed in close(), after the server)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, cwd=root, env={**os.environ, "PYTHONPATH": str(root), **env}, stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"streamlit did not start; see {log}")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used, all its threads together (from /proc; 0 where there is none).
        Unlike the wall-clock figures it hardly depends on what else runs on the machine."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        self.log.close()


def settled(page) -> None:
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)


def no_exception(page, what: str) -> None:
    if page.get_by_test_id("stException").count():
        raise RuntimeError(f"{what}: the page shows an exception")


def timed(action, until, server: Server | None = None) -> tuple[float, float]:
    """(seconds, the server's CPU seconds) from ``action()`` until ``until()`` returns (both drive the page)."""
    cpu = server.cpu_seconds() if server else 0.0
    started = time.perf_counter()
    action()
    until()
    return time.perf_counter() - started, (server.cpu_seconds() - cpu if server else 0.0)


def caption_shows(page, text: str):
    def wait() -> None:
        page.get_by_test_id("stCaptionContainer").filter(has_text=text).first.wait_for(timeout=TIMEOUT_MS)
        settled(page)

    return wait


def cold_demo(browser, env: dict, log: Path, root: Path = ROOT) -> tuple[dict[str, float], Server, object]:
    """The cold start's phases in seconds ("total": server launch -> demo picture), the server, and the page left
    open on the demo."""
    server = Server(env, log, root)
    healthy = time.perf_counter()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server.url}/arithmetic", wait_until="commit")
    page.locator("h1").filter(has_text=TITLE).first.wait_for(state="visible")  # the frame: sidebar or page
    painted = time.perf_counter()
    button = page.locator(".st-key-demo_sunglasses button")
    button.wait_for()
    settled(page)
    clicked = time.perf_counter()
    button.click()
    page.locator(".st-key-edit_after [data-testid='stImage'] img").first.wait_for()
    picture = time.perf_counter()
    settled(page)
    no_exception(page, "the demo")
    phases = {
        "total": picture - server.started,
        "server CPU seconds, launch -> picture": server.cpu_seconds(),
        "server launch -> health": healthy - server.started,
        "first paint (page opened -> title)": painted - healthy,
        "health -> Arithmetic drawn": clicked - healthy,
        "demo click -> picture": picture - clicked,
    }
    return phases, server, page


def arithmetic_changes(page, server: Server) -> dict[str, tuple[float, float]]:
    """Method, strength and attribute, each from the demo's state, timed until the page has redrawn."""
    times = {}
    times["method"] = timed(
        lambda: page.locator(".st-key-direction_method label").filter(has_text="class-mean difference").click(),
        caption_shows(page, "along the class-mean difference direction"),
        server,
    )
    thumb = page.locator(".st-key-strength input[type='range']")
    thumb.focus()
    times["strength"] = timed(lambda: thumb.press("ArrowRight"), caption_shows(page, "strength +2.25"), server)

    def choose_smiling() -> None:
        page.locator(".st-key-direction [role='combobox']").click()
        page.get_by_role("option", name="smiling", exact=True).click()

    times["attribute"] = timed(choose_smiling, caption_shows(page, "faces without smiling"), server)
    no_exception(page, "the arithmetic changes")
    return times


def component_changes(page, server: Server) -> dict[str, tuple[float, float]]:
    """The Components mode opened from the demo's state, then one slider step and another component."""

    def shows(text: str):
        def wait() -> None:
            page.get_by_text(text).first.wait_for(timeout=TIMEOUT_MS)
            settled(page)

        return wait

    def first_view() -> None:
        shows("bottom: after +0.0 along PC1")()  # the strength starts at 0: nothing measured yet, no chart

    times = {"first view": timed(
        lambda: page.locator(".st-key-arithmetic_mode button").filter(has_text="Components").click(),
        first_view,
        server,
    )}  # fmt: skip
    thumb = page.locator(".st-key-component_strength input[type='range']")
    thumb.focus()

    def first_step() -> None:
        shows("bottom: after +0.5 along PC1")()
        # the session's first plotly chart loads plotly's script in the browser: the audience waits for it too
        page.locator(".st-key-component_chart .js-plotly-plot").wait_for(timeout=TIMEOUT_MS)

    times["strength"] = timed(lambda: thumb.press("ArrowRight"), first_step, server)
    times["component"] = timed(
        lambda: page.locator(".st-key-component label").filter(has_text="SeFa 3 ·").click(),
        shows("bottom: after +0.5 along SeFa 3"),
        server,
    )
    no_exception(page, "the components changes")
    return times


def page_opens(page, server: Server) -> dict[str, tuple[float, float]]:
    """Each page opened from the sidebar's navigation, until its header is drawn and the script has finished."""
    times = {}
    for title, header in PAGES.items():

        def arrived(header=header) -> None:
            page.get_by_role("heading", name=header).first.wait_for(timeout=TIMEOUT_MS)
            settled(page)

        link = page.get_by_test_id("stSidebarNavLink").filter(has_text=title).first
        times[title] = timed(link.click, arrived, server)
        no_exception(page, f"page {title}")
    return times


def training(runs_dir: Path, settings: dict, name: str, env: dict):
    """A run started through ganlib.runs (as the sidebar's Start does), once it has trained a step: past rendering
    its data set. The trainer inherits ``env`` (the benchmark's cache folder: its data set is rendered once); this
    process's environment is left as it was."""
    from ganlib import runs
    from ganlib.config import TrainConfig

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        handle = runs.start_run(runs_dir, TrainConfig(**settings), name=name)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    deadline = time.monotonic() + 300
    while runs.read_progress(handle.run_dir).step < 1:
        if time.monotonic() > deadline or runs.read_progress(handle.run_dir).state == "failed":
            runs.stop_run(handle)
            raise RuntimeError(f"training run {name} did not start: {runs.log_tail(handle.run_dir)}")
        time.sleep(0.5)
    return handle


def idle(server: Server, quiet_seconds: float = 3.0, limit_seconds: float = 240.0) -> float:
    """Wait until the server has used under 0.1 s of CPU in ``quiet_seconds`` (its warm-up has finished); the
    seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_seconds:
        before = server.cpu_seconds()
        time.sleep(quiet_seconds)
        if server.cpu_seconds() - before < 0.1:
            break
    return time.perf_counter() - started


def script_run(page, action) -> None:
    """``action()``, then wait until the script run it starts has finished (a cached rerun can be over before a
    selector would see it start, so the app's script state is watched from the moment before the action)."""
    page.evaluate(
        """() => { window.__ranScript = false;
        const app = document.querySelector("[data-testid='stApp']");
        new MutationObserver(() => { if (app.dataset.testScriptState === 'running') window.__ranScript = true; })
          .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
    )
    action()
    page.wait_for_function("() => window.__ranScript === true", timeout=TIMEOUT_MS)
    settled(page)


def map_computes(page, server: Server) -> dict[str, tuple[float, float]]:
    """On a warm server, the Latent map's Compute of a t-SNE of MAP_POINTS points with the form's defaults, then
    with perplexity MAP_PERPLEXITY, each until the page has drawn it."""
    page.goto(f"{server.url}/map")
    page.get_by_text("500 points (seeds 0–499)").first.wait_for(timeout=TIMEOUT_MS)  # the arrival map
    settled(page)
    times = {}
    points = page.locator(".st-key-map_points input")
    points.fill(str(MAP_POINTS))
    page.locator(".st-key-map_method label").filter(has_text="t-SNE").click()
    compute = page.locator(".st-key-map_compute button")
    label = f"{MAP_POINTS:,} points (seeds 0–{MAP_POINTS - 1}) · t-SNE"
    times["form's defaults"] = timed(
        lambda: script_run(page, compute.click), lambda: page.get_by_text(label).first.wait_for(), server
    )
    thumb = page.locator(".st-key-perplexity input[type='range']")
    thumb.focus()
    for _ in range(MAP_PERPLEXITY - 30):  # from the default 30
        thumb.press("ArrowRight")
    times[f"perplexity {MAP_PERPLEXITY}"] = timed(
        lambda: script_run(page, compute.click), lambda: page.get_by_text(label).first.wait_for(), server
    )
    no_exception(page, "the latent map's t-SNE")
    return times


GAME_SECONDS = 10.0  # how long the game plays while every animation frame is sampled


def game_frames(page, server: Server) -> dict[str, float]:
    """The 1-D GAN game playing at normal speed for GAME_SECONDS: frames the browser painted per second, and the
    painted frames whose main chart was blank or whose five charts were not all there (target: none)."""
    page.goto(f"{server.url}/game?game_preset=two+modes&game_speed=normal")
    page.locator(".st-key-toy_live .js-plotly-plot").first.wait_for(timeout=TIMEOUT_MS)
    settled(page)
    page.locator(".st-key-toy_play button").click()
    live = page.locator(".st-key-toy_live svg.live-chart")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while live.count() < CHARTS and time.monotonic() < deadline:  # Play swaps plotly for the live charts once
        time.sleep(0.1)
    page.evaluate(FRAME_SAMPLER)
    time.sleep(GAME_SECONDS)
    frames = page.evaluate("() => { window._frames.stop = true; return window._frames; }")
    page.locator(".st-key-toy_pause button").click()
    settled(page)
    no_exception(page, "the GAN game")
    return {
        "painted frames per second": frames["painted"] / GAME_SECONDS,
        "frames with a blank main chart": float(frames["main_empty"]),
        "frames missing a chart": float(frames["fewer_charts"]),
    }


def stop_time(page, server: Server, runs_dir: Path, env: dict) -> float:
    """Start a run, follow it on the Training page, press Stop, wait for "was stopped"."""
    from ganlib import runs

    handle = training(runs_dir, STOP_RUN, f"stop-{int(time.time() * 1000)}", env)
    try:
        page.goto(f"{server.url}/training?run={handle.name}")
        button = page.locator(".st-key-training_stop button").first
        button.wait_for()
        return timed(button.click, lambda: page.get_by_text("was stopped at step").first.wait_for())[0]
    finally:
        if runs.active_run(runs_dir) is not None:
            runs.stop_run(handle)


FIRST, LATER = "first start ever", "later start"  # an empty user cache; the cache the previous server wrote


def one_run(browser, work: Path, log: Path, root: Path = ROOT, cold_only: bool = False) -> dict[str, float]:
    """One measurement of every figure (only the two cold starts with ``cold_only``), on fresh servers of the
    dashboard in ``root``; the user's caches (directions, pictures) start empty, as on a machine that never ran the
    app (the rendered data sets are kept: they are the training run's, not the dashboard's)."""
    cache = work / "cache"
    for folder in ("directions", "pictures"):
        shutil.rmtree(cache / folder, ignore_errors=True)
    runs_dir = work / "runs"
    env = {"GANLIB_CACHE": str(cache), "GANLIB_RUNS": str(runs_dir), "GANLIB_UPLOADS": str(work / "uploads")}
    figures: dict[str, float] = {}
    phases, server, page = cold_demo(browser, env, log, root)
    try:
        figures[f"cold start -> demo picture ({FIRST})"] = phases.pop("total")
        figures.update({f"  {name} ({FIRST})": seconds for name, seconds in phases.items()})
        if not cold_only:
            more_figures(page, server, runs_dir, env, figures)
    finally:
        page.context.close()
        server.close()
    phases, server, page = cold_demo(browser, env, log, root)  # the caches the first server wrote
    page.context.close()
    server.close()
    figures[f"cold start -> demo picture ({LATER})"] = phases.pop("total")
    figures.update({f"  {name} ({LATER})": seconds for name, seconds in phases.items()})
    return figures


def more_figures(page, server: Server, runs_dir: Path, env: dict, figures: dict[str, float]) -> None:
    """Everything after the first cold start, on its server and page, added to ``figures``."""
    for name, (seconds, cpu) in arithmetic_changes(page, server).items():
        figures[f"arithmetic change: {name}"] = seconds
        figures[f"  server CPU seconds: {name}"] = cpu
    for name, (seconds, cpu) in component_changes(page, server).items():
        label = "components: first view" if name == "first view" else f"arithmetic change: component {name}"
        figures[label] = seconds
        figures[f"  server CPU seconds: components, {name}"] = cpu
    time.sleep(WARM_PAUSE_SECONDS)
    for name, (seconds, cpu) in page_opens(page, server).items():
        figures[f"open page (warm server): {name}"] = seconds
        figures[f"  server CPU seconds: {name}"] = cpu
    figures["  waiting for the warm-up to finish"] = idle(server)
    for name, (seconds, cpu) in map_computes(page, server).items():
        figures[f"latent map, t-SNE of {MAP_POINTS:,} points (warm server): {name}"] = seconds
        figures[f"  server CPU seconds: t-SNE, {name}"] = cpu
    for name, value in game_frames(page, server).items():
        figures[f"game while playing: {name}"] = value
    figures["Stop -> stopped"] = stop_time(page, server, runs_dir, env)


def target_of(name: str, with_training: bool = False) -> float | None:
    if name.startswith("cold start"):
        return COLD_TARGET_WITH_TRAINING if with_training else COLD_TARGET
    if name.strip().startswith("first paint"):
        return PAINT_TARGET
    if name.startswith("arithmetic change"):
        return CHANGE_TARGET
    if name.startswith("open page"):
        return PAGE_TARGET
    if name.startswith("Stop"):
        return STOP_TARGET
    if name.startswith("latent map"):
        return MAP_TARGET
    if name.startswith("game while playing: frames"):
        return 0.0  # no blank frame at all: printed beside the count, as a ratio would divide by it
    return None


@contextlib.contextmanager
def background_training(work: Path, env: dict):
    """A training run (BACKGROUND_RUN) for the block's duration."""
    from ganlib import runs

    handle = training(work / "background-runs", BACKGROUND_RUN, "background", env)
    try:
        yield handle
    finally:
        runs.stop_run(handle)


def measure(runs: int = 10, log=print, with_training: bool = False, root: Path = ROOT, cold_only: bool = False) -> dict:
    """Every figure ``runs`` times: samples, p50 and p95, targets and ratios, and what the machine was; with
    ``with_training``, while a training run trains beside the server; with ``cold_only``, the cold starts alone;
    ``root`` is the checkout whose dashboard is started (another one's, to compare)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's Chromium at {CHROMIUM}")
    work = Path(tempfile.mkdtemp(prefix="bench-stage-"))
    samples: dict[str, list[float]] = {}
    load_before = os.getloadavg()
    try:
        training = background_training(work, {"GANLIB_CACHE": str(work / "cache")}) if with_training else None
        with training or contextlib.nullcontext(), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for run in range(runs):
                    figures = one_run(browser, work, work / "server.log", Path(root), cold_only)
                    log(f"run {run + 1}/{runs}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
                    for name, seconds in figures.items():
                        samples.setdefault(name, []).append(seconds)
            finally:
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = {}
    for name, values in samples.items():
        target = target_of(name, with_training)
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        figures[name] = {
            "p50": p50,
            "p95": p95,
            "target": target,
            "ratio_p50": target / p50 if target else None,
            "ratio_p95": target / p95 if target else None,
            "samples": values,
        }
    return {
        "runs": runs,
        "with_training": with_training,
        "root": str(root),
        "machine": {
            "cpu": cpu_model(),
            "cpu_flags": cpu_flags(),
            "cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "python": platform.python_version(),
        },
        "figures": figures,
    }


def unit_of(name: str) -> str:
    """Seconds, except the game's frame figures."""
    if name.startswith("game while playing"):
        return "/s" if name.endswith("per second") else " "
    return "s"


def results(report: dict) -> list[Result]:
    out = []
    for name, figure in report["figures"].items():
        for quantile in ("p50", "p95"):
            out.append(Result(f"{name} {quantile}", figure[quantile], unit_of(name).strip(), figure["target"]))
    return out


def stage(runs: int = 10) -> list[Result]:
    """For benchmarks/run.py (a machine without Chromium gets one row saying so, and the other groups still run)."""
    if not Path(CHROMIUM).exists():
        return [Result("talk demo in a browser", float("nan"), "s", COLD_TARGET, note="no chromium")]
    report = measure(runs)
    machine = report["machine"]
    print(f"cpu: {machine['cpu']}; flags: {machine['cpu_flags']}; load {machine['load_average_before']}")
    return results(report)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stage", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh servers per figure (default %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the report, every sample included, as JSON")
    parser.add_argument(
        "--with-training",
        action="store_true",
        help=f"measure while a training run ({BACKGROUND_RUN['image_size']} px toonfaces, the sidebar's defaults) "
        "trains beside the server",
    )
    parser.add_argument(
        "--cold-only", action="store_true", help="only the cold starts (first start ever, later start), first paint"
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose dashboard to start (default: this one)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    report = measure(args.runs, log=log, with_training=args.with_training, root=args.root, cold_only=args.cold_only)
    machine = report["machine"]
    print(f"cpu: {machine['cpu']} ({machine['cores']} cores); flags: {machine['cpu_flags']}")
    print(f"load average before {machine['load_average_before']}, after {machine['load_average_after']}")
    print("with a training run going beside the server" if args.with_training else "no training run beside it")
    print(f"dashboard of {report['root']}")
    print(
        f"{'figure (' + str(args.runs) + ' runs)':52s} {'p50':>7s} {'p95':>7s} {'target':>7s} {'p50':>6s} {'p95':>6s}"
    )
    for name, figure in report["figures"].items():
        target = figure["target"]
        ratios = f"{figure['ratio_p50']:6.2f} {figure['ratio_p95']:6.2f}" if target else f"{'-':>6s} {'-':>6s}"
        unit, shown = unit_of(name), "-" if target is None else f"{target:g}"
        print(f"{name:52s} {figure['p50']:6.2f}{unit:2s}{figure['p95']:6.2f}{unit:2s}{shown:>6} {ratios}")
    print("ratio = target / time: >= 1 meets the target")
    first, later = (report["figures"].get(f"cold start -> demo picture ({name})") for name in (FIRST, LATER))
    if first and later:
        print(
            f"cold start p50: {FIRST} {first['p50']:.2f} s, {LATER} {later['p50']:.2f} s "
            f"({first['p50'] / later['p50']:.2f}x; target {first['target']:g} s, the first no slower than a later one)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
