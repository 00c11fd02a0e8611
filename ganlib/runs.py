"""Start, follow and stop training runs in a separate process (the dashboard's Train panel uses this).

Training never runs inside the caller's process: ``start_run`` launches ``python -m ganlib train`` in a new
process session and everything about the run is read back from its run directory (see ``ganlib.train``), so
any number of viewers, in any process, can follow it. One run at a time per runs folder: the file
``<runs>/.active.json`` ({pid, run_dir, started}) names it; a lock whose process is gone is cleared on sight.

    handle = start_run("runs", TrainConfig(dataset="digits", image_size=32, steps=500))
    progress = read_progress(handle.run_dir)   # status, stats columns, latest sample grid, ETA
    stop_run(handle)                           # SIGTERM: the trainer finishes its step and writes a checkpoint
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import TrainConfig, to_argv
from .data import DATASETS, DatasetError
from .data.folder import MIN_IMAGES, scan_image_folder
from .run_directory import CONFIG_FILE, GENERATOR_FILE, SAMPLES_DIR, STATS_FILE, STATUS_FILE, read_json, write_json
from .run_directory import process_alive as _process_alive

ACTIVE_FILE = ".active.json"
LOCK_FILE = ".active.lock"  # flock'ed while checking and claiming ACTIVE_FILE, so two starts cannot race
LAUNCH_FILE = "launch.json"  # written by start_run: pid and command, for runs that die before status.json
LOG_FILE = "train.log"
MAX_FOLDER_PATH = 4096  # PATH_MAX on Linux: a longer path names no folder, and the file system refuses it
STARTUP_GRACE_SECONDS = 120  # a just-launched pid is trusted without the command-line check
STOP_TIMEOUT_SECONDS = 15.0
FINAL_STATES = ("finished", "stopped", "failed")
SAMPLE_GRIDS_PER_RUN = 20
STATS_COLUMNS = (
    "step",
    "epoch",
    "images_seen",
    "elapsed",
    "images_per_second",
    "steps_per_second",
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "value",
    "js_estimate",
    "sample_diversity",
)
# Generator steps per second of a 32-px run at batch 64, default widths, one thread: 123.4 img/s (fused Adam,
# benchmarks/bench_scaling.py's unit row, 2026-12-02, the 2-core VM), / 64. Cost grows with the pixels (64 px is
# about 4x the work), the batch, and the k discriminator steps per G step.
MEASURED_STEPS_PER_SECOND = 1.9
# The part of a 32-px step at batch 64 that does not shrink with the batch (the Adam updates, the EMA, Python): from
# bench_recipe's runs, batch 32 made 1.84-1.86 times the steps of batch 64 in the same CPU time, not 2
STEP_OVERHEAD = 0.08
STARTUP_SECONDS = 5.0  # a trainer's launch to its first step: Python, torch, data set and networks (digits, 32 px)
ETA_WINDOW_SECONDS = 60.0


class RunError(ValueError):
    """A run cannot be started or stopped; the message is meant for the user as it is."""


class RunBusy(RunError):
    """Another run is training from this runs folder (one at a time); ``active`` names it."""

    def __init__(self, active: RunHandle):
        super().__init__(f"run {active.name!r} is training; wait for it, or stop it, before starting another")
        self.active = active


@dataclass(frozen=True)
class RunHandle:
    name: str
    run_dir: Path
    pid: int  # the trainer's pid, also its process group (it leads a new session)
    started: float  # time.time() at launch


@dataclass
class Progress:
    run_dir: Path
    name: str
    state: str  # starting | running | finished | stopped | failed | diverged (a loss or weight went NaN)
    step: int
    steps: int
    fraction: float  # step / steps in [0, 1]
    eta_seconds: float | None  # only while running, once the first stats line is in
    elapsed: float  # training seconds (excludes start-up)
    message: str  # the trainer's or stop_run's note, "" if none
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # column -> values, one per stats line
    samples: list[Path] = field(default_factory=list)  # sample grids, oldest first
    has_generator: bool = False
    log_tail: str = ""  # last lines of train.log when the run failed
    failure: str = ""  # one line saying why it failed or diverged
    warning: str = ""  # the trainer's current warning (samples collapsing to one image), "" if none
    checkpoint_step: int | None = None  # the step of the checkpoint on disk, where --resume continues
    config: dict = field(default_factory=dict)  # the run's TrainConfig as a dict, once the trainer wrote it

    @property
    def images_per_second(self) -> float | None:
        values = self.stats.get("images_per_second")
        return float(values[-1]) if values is not None and len(values) else None


@dataclass(frozen=True)
class RunSummary:
    name: str
    run_dir: Path
    state: str
    step: int
    steps: int
    has_generator: bool
    updated: float


# ---------------------------------------------------------------------------------------------- planning
def default_name(dataset: str, image_size: int, now: datetime.datetime | None = None) -> str:
    label = Path(dataset).name if ("/" in dataset or "\\" in dataset) else dataset
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "folder"
    return f"{label}-{image_size}px-{(now or datetime.datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def log_interval(steps: int) -> int:
    """At most 10 steps apart, so a follower sees the curves move every few seconds even on a busy CPU
    (each line averages its interval; 200,000 steps make a 5 MB stats.jsonl)."""
    return max(1, min(10, steps // 500))


def sample_interval(steps: int) -> int:
    return max(1, steps // SAMPLE_GRIDS_PER_RUN)


def estimate_seconds(config: TrainConfig, steps_per_second: float = MEASURED_STEPS_PER_SECOND) -> float:
    """Rough wall time of a run with the default network widths on one CPU thread, start-up included (a toonfaces
    set rendered for the first time at a size adds about a minute, which the form says apart). A generator step
    costs about one discriminator step, so k D-steps cost (k + 1) / 2 of a k = 1 step."""
    batch = STEP_OVERHEAD + (1 - STEP_OVERHEAD) * config.batch_size / 64
    relative_cost = (config.image_size / 32) ** 2 * batch * (config.d_steps + 1) / 2
    return STARTUP_SECONDS + config.steps * relative_cost / steps_per_second


def smoothed_eta(stats: dict[str, np.ndarray], step: int, steps: int) -> float | None:
    """Seconds left at the rate of the last ETA_WINDOW_SECONDS of stats lines: steady against one slow step or a
    checkpoint write, and quick to follow a real change of speed (another process taking the CPU)."""
    done, elapsed = stats.get("step"), stats.get("elapsed")
    if done is None or elapsed is None or len(done) == 0 or not elapsed[-1] > 0:
        return None
    first = int(np.searchsorted(elapsed, elapsed[-1] - ETA_WINDOW_SECONDS))
    if first >= len(done) - 1:  # one line in the window: the average since the start
        rate = done[-1] / elapsed[-1]
    else:
        rate = (done[-1] - done[first]) / max(elapsed[-1] - elapsed[first], 1e-9)
    return max(0.0, (steps - step) / rate) if rate > 0 else None


def _check_dataset(dataset: str) -> str:
    """A built-in name as is, or an existing folder with at least one image as an absolute path."""
    dataset = dataset.strip()
    if not dataset:
        raise RunError("choose a data set: toonfaces, digits, or the path of a folder of images")
    if dataset in DATASETS:
        return dataset
    if len(dataset) > MAX_FOLDER_PATH:
        raise RunError(f"the image folder's path is {len(dataset):,} characters; the limit is {MAX_FOLDER_PATH:,}")
    try:
        files, _ = scan_image_folder(dataset)
    except DatasetError as error:
        raise RunError(str(error)) from None
    except OSError as error:  # a name too long for the file system, a folder that vanished mid-scan
        raise RunError(f"image folder {_shown(dataset)}: {_os_reason(error, name_file=False)}") from None
    if len(files) < MIN_IMAGES:
        raise RunError(
            f"image folder {dataset!r} holds only {len(files)} image file{'' if len(files) == 1 else 's'}; "
            f"training needs at least {MIN_IMAGES}"
        )
    folder = Path(dataset).expanduser()
    return str(folder.resolve())


# ---------------------------------------------------------------------------------------------- processes
def _is_training_process(pid: int, run_dir: Path | None = None) -> bool:
    """A live ``ganlib train`` process (writing ``run_dir`` if given), not some later process with a reused pid."""
    if not _process_alive(pid):
        return False
    if run_dir is not None and _launched_recently(Path(run_dir), pid):
        # The pid we started moments ago is ours: during a trainer's start-up its command line can read as
        # something else, and a pid is not reused within seconds.
        return True
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return True  # cannot tell without /proc; trust the pid
    if argv == [""]:
        return True  # an exiting process shows an empty command line: cannot tell, trust the pid
    if "ganlib" not in argv or "train" not in argv:
        return False
    if run_dir is None:
        return True
    targets = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("--out", "--resume")]
    if not targets:
        return True  # the CLI's default --out; the pid and command line are all we can check
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        cwd = Path.cwd()
    wanted = Path(run_dir).resolve()
    return any((cwd / Path(target).expanduser()).resolve() == wanted for target in targets)


def _launched_recently(run_dir: Path, pid: int) -> bool:
    launch = read_json(run_dir / LAUNCH_FILE) or {}
    return launch.get("pid") == pid and 0 <= time.time() - float(launch.get("started", 0)) < STARTUP_GRACE_SECONDS


@contextlib.contextmanager
def _locked(runs_dir: Path):
    runs_dir.mkdir(parents=True, exist_ok=True)
    with open(runs_dir / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _active_unlocked(runs_dir: Path) -> RunHandle | None:
    path = runs_dir / ACTIVE_FILE
    record = read_json(path)
    if record is None:
        if path.exists():
            path.unlink(missing_ok=True)  # unreadable lock: nothing can be running under it
        return None
    try:
        handle = RunHandle(
            Path(record["run_dir"]).name, Path(record["run_dir"]), int(record["pid"]), float(record.get("started", 0))
        )
    except (KeyError, TypeError, ValueError):
        path.unlink(missing_ok=True)
        return None
    state = (read_json(handle.run_dir / STATUS_FILE) or {}).get("state", "starting")
    # A trainer that has written its final status is done, even in the second it takes the process to exit.
    if state in ("starting", "running") and _is_training_process(handle.pid, handle.run_dir):
        return handle
    path.unlink(missing_ok=True)  # stale: the run ended (or crashed, or the machine rebooted)
    return None


def active_run(runs_dir) -> RunHandle | None:
    """The run currently training from ``runs_dir``, or None. Clears a stale lock as a side effect."""
    runs_dir = Path(runs_dir)
    if not (runs_dir / ACTIVE_FILE).exists():
        return None
    with _locked(runs_dir):
        return _active_unlocked(runs_dir)


def start_run(runs_dir, config: TrainConfig, name: str | None = None, extra_args=()) -> RunHandle:
    """Launch ``python -m ganlib train`` with ``config``, writing ``<runs_dir>/<name>`` (``config.out`` is
    replaced by that folder, and intervals left at their defaults are set to suit a live follower). Raises
    RunError for a missing data folder, an existing run directory, or while another run is active.
    ``extra_args`` are more ``ganlib train`` flags (``--threads`` is 1 unless given there)."""
    runs_dir = Path(runs_dir).resolve()
    dataset = _check_dataset(config.dataset)
    name = (name or "").strip() or default_name(dataset, config.image_size)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise RunError(f"run name {name!r} may only use letters, digits, '.', '_' and '-'")
    run_dir = runs_dir / name
    defaults = TrainConfig()
    config = dataclasses.replace(
        config,
        dataset=dataset,
        out=str(run_dir),
        log_every=log_interval(config.steps) if config.log_every == defaults.log_every else config.log_every,
        sample_every=sample_interval(config.steps)
        if config.sample_every == defaults.sample_every
        else config.sample_every,
    )
    threads = [] if "--threads" in extra_args else ["--threads", "1"]
    argv = ["train", *to_argv(config), *threads, "--quiet", *map(str, extra_args)]

    try:
        with _locked(runs_dir):
            current = _active_unlocked(runs_dir)
            if current is not None:
                raise RunBusy(current)
            if run_dir.exists():
                raise RunError(f"{run_dir} already exists; choose another name")
            return _launch(runs_dir, run_dir, argv)
    except OSError as error:  # a full disk, a read-only or vanished runs folder: one line, and nothing left running
        raise RunError(f"could not start run {name!r}: {_os_reason(error)}") from None


def _launch(runs_dir: Path, run_dir: Path, argv: list[str]) -> RunHandle:
    """Start the trainer and record it as the active run (under the runs folder's lock). The record is claimed
    before the process starts, so a disk that cannot take it starts nothing; and whatever fails after the start
    kills the process and removes its records, so no trainer ever runs that the active record does not name (one
    nobody could see or stop)."""
    command = [sys.executable, "-m", "ganlib", *argv]
    run_dir.mkdir(parents=True)
    process = None
    try:
        # No pid yet: a reader finds the claim incomplete and clears it, which only happens if this process dies
        # before the record below (readers take the lock this holds).
        write_json(runs_dir / ACTIVE_FILE, {"run_dir": str(run_dir), "claimed": time.time()})
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        with open(run_dir / LOG_FILE, "wb") as log:
            # A new session: the trainer outlives a Streamlit rerun or restart, and Stop signals its whole group.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=environment,
            )
        # Reap the child when it exits, so it does not linger as a zombie that looks alive to os.kill.
        threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
        started = time.time()
        write_json(run_dir / LAUNCH_FILE, {"pid": process.pid, "started": started, "command": command})
        write_json(runs_dir / ACTIVE_FILE, {"pid": process.pid, "run_dir": str(run_dir), "started": started})
    except BaseException:
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        (runs_dir / ACTIVE_FILE).unlink(missing_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)  # made above, by this call: nothing else is in it
        raise
    return RunHandle(run_dir.name, run_dir, process.pid, started)


def _os_reason(error: OSError, name_file: bool = True) -> str:
    """An OSError as a short phrase naming its file ("No space left on device (runs/x/launch.json)")."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"{reason} ({_shown(str(error.filename))})" if name_file and error.filename else reason


def _shown(path: str, limit: int = 120) -> str:
    """A path as a message quotes it: in quotes, and shortened (a typed path can be thousands of characters)."""
    return repr(path if len(path) <= limit else path[: limit - 1] + "…")


def stop_run(handle: RunHandle, timeout: float = STOP_TIMEOUT_SECONDS) -> str:
    """SIGTERM the run's process group: the trainer finishes its step, writes a checkpoint and exits "stopped".
    After ``timeout`` seconds SIGKILL it and mark status.json "stopped" (the last checkpoint stays usable).
    Returns the run's final state."""
    run_dir = Path(handle.run_dir)
    # The pid leads its own process group (start_new_session), so the group signal reaches only the trainer.
    if _is_training_process(handle.pid):
        signalled = time.time()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        # Done when the trainer has written its final status (after its checkpoint): the process's own exit, about
        # 1 s of interpreter shutdown here, is left to the reaper thread and to whoever looks at the run next.
        while _process_alive(handle.pid) and not _ended_since(run_dir, signalled) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _process_alive(handle.pid) and not _ended_since(run_dir, signalled):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(handle.pid, signal.SIGKILL)
            for _ in range(50):
                if not _process_alive(handle.pid):
                    break
                time.sleep(0.1)
            else:
                raise RunError(f"could not stop run {handle.name!r} (pid {handle.pid} ignores SIGKILL)")
            _mark(run_dir, "stopped", f"killed after {timeout:.0f} s without stopping; the last checkpoint is kept")
    status = read_json(run_dir / STATUS_FILE)
    if status is None or status.get("state") == "running":
        _mark(run_dir, "stopped", "stopped before training began" if status is None else "stopped")
    runs_dir = run_dir.parent
    with _locked(runs_dir):
        record = read_json(runs_dir / ACTIVE_FILE)
        if record is not None and int(record.get("pid", -1)) == handle.pid:
            (runs_dir / ACTIVE_FILE).unlink(missing_ok=True)
    return (read_json(run_dir / STATUS_FILE) or {}).get("state", "stopped")


def _ended_since(run_dir: Path, moment: float) -> bool:
    """The trainer wrote a final status (stopped, finished or failed) at ``moment`` or later."""
    status = read_json(run_dir / STATUS_FILE) or {}
    updated = status.get("updated")
    return status.get("state") in FINAL_STATES and isinstance(updated, (int, float)) and updated >= moment


def _mark(run_dir: Path, state: str, message: str) -> None:
    status = read_json(run_dir / STATUS_FILE) or {"step": 0, "steps": _configured_steps(run_dir), "elapsed": 0.0}
    status.update(state=state, message=message, eta_seconds=None, updated=time.time())
    write_json(run_dir / STATUS_FILE, status)


# ---------------------------------------------------------------------------------------------- reading
def _configured_steps(run_dir: Path) -> int:
    config = read_json(run_dir / CONFIG_FILE)
    if config and "train" in config:
        return int(config["train"].get("steps", 0))
    command = (read_json(run_dir / LAUNCH_FILE) or {}).get("command", [])
    if "--steps" in command[:-1]:
        return int(command[command.index("--steps") + 1])
    return 0


def read_stats(run_dir) -> dict[str, np.ndarray]:
    """stats.jsonl as columns (a half-written last line is skipped)."""
    rows = []
    try:
        with open(Path(run_dir) / STATS_FILE) as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except (ValueError, RecursionError):  # a half-written last line; a foreign file's deep one
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError:
        pass
    columns = list(STATS_COLUMNS) + sorted({key for row in rows for key in row} - set(STATS_COLUMNS))
    return {key: np.array([row.get(key, np.nan) for row in rows], dtype=float) for key in columns}


def log_tail(run_dir, lines: int = 20) -> str:
    try:
        with open(Path(run_dir) / LOG_FILE, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:])


def _failure_line(tail: str, message: str) -> str:
    """The one line that says why: the trainer's message, else the CLI's "error: ..." or a traceback's last line."""
    if message:
        return message
    for line in reversed(tail.splitlines()):
        line = line.strip()
        if line and not line.startswith(("File ", "^", "~")):
            return line.removeprefix("error: ")
    return "the training process ended without writing a status"


def _launch_pid(run_dir: Path) -> int:
    return int((read_json(run_dir / LAUNCH_FILE) or {}).get("pid", -1))


def read_progress(run_dir) -> Progress:
    """Everything a viewer shows about a run, read from its directory (any process may call this)."""
    run_dir = Path(run_dir)
    status = read_json(run_dir / STATUS_FILE)
    pid = int((status or {}).get("pid") or _launch_pid(run_dir))
    state = (status or {}).get("state", "starting")
    message = (status or {}).get("message", "") or ""
    if state in ("starting", "running") and not _is_training_process(pid, run_dir):
        state = "failed"  # the process is gone without saying so: killed, out of memory, or failed at start-up
    steps = int((status or {}).get("steps") or _configured_steps(run_dir) or 0)
    step = int((status or {}).get("step", 0))
    tail = log_tail(run_dir) if state == "failed" else ""
    samples = sorted((run_dir / SAMPLES_DIR).glob("step_*.png"))
    stats = read_stats(run_dir)
    return Progress(
        run_dir=run_dir,
        name=run_dir.name,
        state=state,
        step=step,
        steps=steps,
        fraction=min(1.0, step / steps) if steps else 0.0,
        eta_seconds=smoothed_eta(stats, step, steps) if state == "running" else None,
        elapsed=float((status or {}).get("elapsed") or 0.0),
        message=message,
        stats=stats,
        samples=samples,
        has_generator=(run_dir / GENERATOR_FILE).is_file(),
        log_tail=tail,
        failure=_failure_line(tail, message) if state in ("failed", "diverged") else "",
        warning=(status or {}).get("warning", "") or "",
        checkpoint_step=(status or {}).get("checkpoint_step"),
        config=(read_json(run_dir / CONFIG_FILE) or {}).get("train", {}),
    )


def read_sample(progress: Progress, index: int = -1) -> tuple[int, np.ndarray] | None:
    """(step, uint8 [H, W, 3]) of a sample grid, newest by default. A grid still being written is skipped in
    favour of the one before it."""
    from PIL import Image

    candidates = progress.samples[: len(progress.samples) + index + 1 if index < 0 else index + 1]
    for path in reversed(candidates):
        try:
            with Image.open(path) as image:
                return int(path.stem.split("_")[-1]), np.asarray(image.convert("RGB"))
        except (OSError, ValueError):
            continue
    return None


def list_runs(runs_dir) -> list[RunSummary]:
    """Run directories under ``runs_dir``, newest first (by their last status update)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    summaries = []
    for run_dir in runs_dir.iterdir():
        if not run_dir.is_dir() or not any((run_dir / f).exists() for f in (STATUS_FILE, LAUNCH_FILE, CONFIG_FILE)):
            continue
        progress = read_progress(run_dir)
        marker = next(run_dir / f for f in (STATUS_FILE, LAUNCH_FILE, CONFIG_FILE) if (run_dir / f).exists())
        summaries.append(
            RunSummary(
                run_dir.name,
                run_dir,
                progress.state,
                progress.step,
                progress.steps,
                progress.has_generator,
                marker.stat().st_mtime,
            )
        )
    return sorted(summaries, key=lambda s: s.updated, reverse=True)
