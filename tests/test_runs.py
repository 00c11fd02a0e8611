"""ganlib.runs: real (tiny) training processes started, followed, refused and stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from ganlib import runs
from ganlib.config import TrainConfig

TINY = dict(latent_dim=8, generator_width=8, discriminator_width=8)


@pytest.fixture(autouse=True)
def no_orphans(tmp_path):
    """A failing test must not leave a 200,000-step trainer running on the shared cores."""
    yield
    for runs_dir in (tmp_path, tmp_path / "runs"):
        handle = runs.active_run(runs_dir)
        if handle is not None:
            runs.stop_run(handle, timeout=5)


def start_tiny(runs_dir, steps=6, name=None, **overrides):
    settings = dict(dataset="digits", image_size=32, steps=steps, batch_size=8, **TINY)
    settings.update(overrides)
    return runs.start_run(runs_dir, TrainConfig(**settings), name=name)


def wait_for(run_dir, states, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = runs.read_progress(run_dir)
        if progress.state in states:
            return progress
        time.sleep(0.2)
    raise AssertionError(f"{run_dir} never reached {states}; last state {progress.state}\n{runs.log_tail(run_dir)}")


@pytest.mark.slow
def test_tiny_run_finishes_and_reports_progress(tmp_path):
    handle = start_tiny(tmp_path, name="tiny")
    assert handle.run_dir == (tmp_path / "tiny").resolve() and (handle.run_dir / runs.LOG_FILE).exists()
    assert runs.active_run(tmp_path) in (handle, None)  # None only if it already finished
    progress = wait_for(handle.run_dir, ("finished", "failed"))
    assert progress.state == "finished", progress.failure
    assert progress.step == progress.steps == 6 and progress.fraction == 1.0 and progress.eta_seconds is None
    assert progress.has_generator and (progress.run_dir / "generator.safetensors").is_file()
    assert list(progress.stats["step"]) == [1, 2, 3, 4, 5, 6]  # --log-every 1 for a 6-step run
    assert {"loss_d", "loss_g", "d_real", "d_fake", "value", "js_estimate"} <= set(progress.stats)
    assert np.all((progress.stats["d_real"] > 0) & (progress.stats["d_real"] < 1))
    assert progress.samples[-1].name == "step_000006.png"
    step, grid = runs.read_sample(progress)
    assert step == 6 and grid.dtype == np.uint8 and grid.ndim == 3
    assert runs.active_run(tmp_path) is None and not (tmp_path / runs.ACTIVE_FILE).exists()  # lock cleared
    [summary] = runs.list_runs(tmp_path)
    assert (summary.name, summary.state, summary.steps, summary.has_generator) == ("tiny", "finished", 6, True)


@pytest.mark.slow
def test_one_run_at_a_time_and_stop(tmp_path):
    handle = start_tiny(tmp_path, steps=200_000)
    assert handle.name.startswith("digits-32px-")
    running = wait_for(handle.run_dir, ("running", "failed", "finished"))
    assert running.state == "running", running.failure
    assert runs.active_run(tmp_path) == handle
    with pytest.raises(runs.RunBusy, match="is training; wait for it, or stop it"):
        start_tiny(tmp_path, name="second")
    assert not (tmp_path / "second").exists()

    assert runs.stop_run(handle) == "stopped"
    progress = runs.read_progress(handle.run_dir)
    assert progress.state == "stopped" and 0 < progress.step < progress.steps
    assert progress.has_generator  # SIGTERM wrote a checkpoint on the way out
    assert runs.active_run(tmp_path) is None


def test_stop_kills_as_a_last_resort(tmp_path):
    handle = start_tiny(tmp_path, steps=200_000, name="stubborn")
    assert runs.stop_run(handle, timeout=0.0) == "stopped"  # no time to stop cleanly: SIGKILL and mark
    progress = runs.read_progress(handle.run_dir)
    assert progress.state == "stopped" and progress.message
    assert runs.active_run(tmp_path) is None


TRAINER_THAT_EXITS_SLOWLY = """
import json, signal, sys, time
from pathlib import Path
status = Path(sys.argv[1]) / "status.json"
def stop(*_):
    status.write_text(json.dumps({"state": "stopped", "step": 3, "steps": 10, "updated": time.time()}))
    time.sleep(30)  # a checkpoint written, then a long interpreter shutdown
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
status.write_text(json.dumps({"state": "running", "step": 3, "steps": 10, "updated": time.time()}))
while True:
    time.sleep(0.05)
"""


def test_stop_returns_once_the_trainer_has_written_its_final_status(tmp_path):
    """Stop waits for the checkpoint and the "stopped" status, not for the process's own exit (1 s here)."""
    run_dir = tmp_path / "slow-exit"
    run_dir.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", TRAINER_THAT_EXITS_SLOWLY, str(run_dir), "ganlib", "train"], start_new_session=True
    )
    try:
        while not (run_dir / "status.json").exists():
            time.sleep(0.05)
        started = time.time()
        (run_dir / runs.LAUNCH_FILE).write_text(json.dumps({"pid": process.pid, "started": started}))
        (tmp_path / runs.ACTIVE_FILE).write_text(
            json.dumps({"pid": process.pid, "run_dir": str(run_dir), "started": started})
        )
        handle = runs.active_run(tmp_path)
        assert handle is not None and handle.pid == process.pid
        assert runs.stop_run(handle) == "stopped"
        assert process.poll() is None  # still shutting down: not waited for
        assert runs.active_run(tmp_path) is None and not (tmp_path / runs.ACTIVE_FILE).exists()
    finally:
        process.kill()
        process.wait()


def test_stale_lock_is_cleared(tmp_path):
    finished = subprocess.Popen(["true"])
    finished.wait()
    for pid in (finished.pid, os.getpid()):  # a dead process, then a live one that is not a trainer
        (tmp_path / runs.ACTIVE_FILE).write_text(json.dumps({"pid": pid, "run_dir": str(tmp_path / "x"), "started": 0}))
        assert runs.active_run(tmp_path) is None
        assert not (tmp_path / runs.ACTIVE_FILE).exists()
    (tmp_path / runs.ACTIVE_FILE).write_text("{not json")
    assert runs.active_run(tmp_path) is None


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(steps=0), "steps must be from 1"),
        (dict(batch_size=1), "batch_size"),
        (dict(lr=5.0), "lr"),
        (dict(d_steps=0), "d_steps"),
        (dict(loss="wasserstein"), "loss must be one of"),
        (dict(image_size=48), "image_size must be one of"),
        (dict(steps="many"), "steps must be an integer"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(label_smoothing=0.7), "label_smoothing"),
        (dict(instance_noise=-0.1), "instance_noise"),
        (dict(instance_noise="lots"), "instance_noise must be a number"),
        (dict(dataset=""), "dataset must be a non-empty"),
    ],
)
def test_bad_settings_are_refused_by_the_config_before_a_process_starts(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        start_tiny(tmp_path, **overrides)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(dataset="/no/such/folder"), "does not exist"),
        (dict(name="../escape"), "run name"),
    ],
)
def test_bad_runs_are_refused_before_a_process_starts(tmp_path, overrides, message):
    with pytest.raises(runs.RunError, match=message):
        start_tiny(tmp_path, **overrides)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.slow
def test_the_launched_command_rebuilds_the_config(tmp_path):
    """runs writes argv derived from the TrainConfig; the CLI parses it back into the same config."""
    from ganlib.cli import build_parser, train_config_from_args

    handle = start_tiny(tmp_path, steps=4, lr=1e-4, instance_noise=0.15, ema=False, keep_checkpoints=True, name="r")
    wait_for(handle.run_dir, ("finished", "failed"))
    command = json.loads((handle.run_dir / runs.LAUNCH_FILE).read_text())["command"]
    args = build_parser().parse_args(command[command.index("train") :])
    config = train_config_from_args(args)
    written = json.loads((handle.run_dir / "config.json").read_text())["train"]
    assert config.to_dict() == written
    assert (config.lr, config.instance_noise, config.ema, config.keep_checkpoints) == (1e-4, 0.15, False, True)


def test_folder_without_images_is_refused(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("no pictures here")
    with pytest.raises(runs.RunError, match="has no images"):
        start_tiny(tmp_path / "runs", dataset=str(empty))
    (empty / "one.png").write_bytes(b"one picture is not a data set")
    with pytest.raises(runs.RunError, match="holds only 1 image file; training needs at least 16"):
        start_tiny(tmp_path / "runs", dataset=str(empty))
    with pytest.raises(runs.RunError, match="has no images"):
        start_tiny(tmp_path / "runs", dataset="/proc")


@pytest.mark.slow
def test_failed_run_says_why_in_one_line(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for index in range(16):
        (broken / f"face{index}.png").write_bytes(b"not a png")  # passes the up-front check, fails in the trainer
    handle = start_tiny(tmp_path / "runs", dataset=str(broken), name="broken-run")
    progress = wait_for(handle.run_dir, ("failed", "finished"))
    assert progress.state == "failed"
    assert "could be read" in progress.failure and "\n" not in progress.failure
    assert "could be read" in progress.log_tail
    assert runs.active_run(tmp_path / "runs") is None


def test_planning_helpers():
    assert runs.log_interval(6) == 1 and runs.log_interval(2000) == 4 and runs.log_interval(10**6) == 10
    assert runs.sample_interval(2000) == 100 and runs.sample_interval(6) == 1
    startup = runs.STARTUP_SECONDS
    rate = runs.MEASURED_STEPS_PER_SECOND
    assert runs.estimate_seconds(TrainConfig(image_size=32, steps=2000)) == pytest.approx(startup + 2000 / rate)
    assert runs.estimate_seconds(TrainConfig(image_size=64, steps=2000)) - startup == pytest.approx(
        4 * (runs.estimate_seconds(TrainConfig(image_size=32, steps=2000)) - startup)
    )
    assert runs.estimate_seconds(TrainConfig(steps=10, image_size=32)) > startup  # a short run is mostly start-up
    # half the batch is a little more than half the time: the measured 1.84x the steps, not 2x
    half = runs.estimate_seconds(TrainConfig(image_size=32, steps=2000, batch_size=32)) - startup
    assert half / (2000 / rate) == pytest.approx(runs.STEP_OVERHEAD + (1 - runs.STEP_OVERHEAD) / 2)
    assert 1.8 < (2000 / rate) / half < 1.9
    assert runs.default_name("/data/My Cats/", 64).startswith("My_Cats-64px-")


def test_the_time_left_follows_the_recent_rate_and_ignores_one_slow_step():
    # 2 steps/s for 100 s, then one checkpoint write of 10 s, then 2 steps/s again
    elapsed = np.concatenate([np.arange(5, 101, 5.0), [110.0], np.arange(115, 131, 5.0)])
    done = np.concatenate([np.arange(10, 201, 10.0), [210.0], np.arange(220, 251, 10.0)])
    eta = runs.smoothed_eta({"step": done, "elapsed": elapsed}, step=250, steps=1250)
    assert 450 < eta < 600  # about 1000 steps at 2 steps/s, barely moved by the slow step
    slower = np.concatenate([elapsed, np.arange(140, 201, 10.0)])  # another process takes half the CPU
    steps_done = np.concatenate([done, np.arange(260, 321, 10.0)])
    assert runs.smoothed_eta({"step": steps_done, "elapsed": slower}, step=320, steps=1320) > 900  # 1 step/s now
    assert runs.smoothed_eta({}, 0, 10) is None


def test_a_just_launched_trainer_is_not_declared_failed_before_it_writes_a_status(tmp_path):
    """Within STARTUP_GRACE_SECONDS of launch the recorded pid is trusted without the command-line check, which a
    browser test once saw fail during a healthy trainer's start-up. Later, a live non-trainer pid is not a run."""
    run_dir = tmp_path / "starting"
    run_dir.mkdir()
    (run_dir / runs.LAUNCH_FILE).write_text(json.dumps({"pid": os.getpid(), "started": time.time(), "command": []}))
    assert runs.read_progress(run_dir).state == "starting"
    (run_dir / runs.LAUNCH_FILE).write_text(
        json.dumps({"pid": os.getpid(), "started": time.time() - 600, "command": []})
    )
    assert runs.read_progress(run_dir).state == "failed"


def test_a_diverged_run_reads_as_diverged_with_its_message_and_warning(tmp_path):
    run_dir = tmp_path / "nan-run"
    run_dir.mkdir()
    message = "training diverged at step 26: loss_g is NaN or infinite; the checkpoint of step 20 is kept"
    (run_dir / "status.json").write_text(
        json.dumps(
            {
                "state": "diverged",
                "step": 26,
                "steps": 100,
                "pid": os.getpid(),
                "elapsed": 3.0,
                "eta_seconds": None,
                "message": message,
                "warning": "samples look alike at step 25",
                "checkpoint_step": 20,
            }
        )
    )
    progress = runs.read_progress(run_dir)
    assert (progress.state, progress.step, progress.checkpoint_step) == ("diverged", 26, 20)
    assert progress.failure == message and progress.warning == "samples look alike at step 25"
    assert progress.eta_seconds is None and not progress.log_tail


def _disk_full_at(monkeypatch, *names):
    """runs.write_json raises ENOSPC for the files called ``names``, as a full disk does."""
    import errno

    write = runs.write_json

    def full(path, value):
        if path.name in names:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write(path, value)

    monkeypatch.setattr(runs, "write_json", full)


@pytest.fixture
def sleepers(monkeypatch):
    """Every process start_run launches is a 60 s sleep instead of a trainer; the list holds them."""
    started, popen = [], subprocess.Popen

    def launch(command, **options):
        process = popen([sys.executable, "-c", "import time; time.sleep(60)"], **options)
        started.append(process)
        return process

    monkeypatch.setattr(runs.subprocess, "Popen", launch)
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()


def test_a_full_disk_at_start_is_one_line_and_starts_nothing(tmp_path, monkeypatch, sleepers):
    """Issue 20 E: the active record is claimed before the trainer starts, so a disk that cannot take it starts
    nothing (the old start raised OSError after launching a trainer that no record named)."""
    _disk_full_at(monkeypatch, runs.ACTIVE_FILE)
    with pytest.raises(runs.RunError, match="No space left on device") as refused:
        start_tiny(tmp_path)
    assert "\n" not in str(refused.value) and str(refused.value).startswith("could not start run ")
    assert sleepers == [] and runs.active_run(tmp_path) is None
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


def test_a_start_whose_record_cannot_be_written_leaves_no_trainer_running(tmp_path, monkeypatch, sleepers):
    """Issue 20 E: whatever fails once the process is up (here launch.json on a full disk) kills it and removes its
    records and folder: no trainer runs that the active record does not name, which nobody could stop."""
    _disk_full_at(monkeypatch, runs.LAUNCH_FILE)
    with pytest.raises(runs.RunError, match="No space left on device") as refused:
        start_tiny(tmp_path)
    assert "\n" not in str(refused.value) and runs.LAUNCH_FILE in str(refused.value)
    [process] = sleepers
    assert process.wait(timeout=10) is not None  # killed, not left running
    assert not (tmp_path / runs.ACTIVE_FILE).exists() and runs.active_run(tmp_path) is None
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.parametrize("folder", ["/" + "a" * 10_000, "/tmp/" + "b" * 300, "/tmp/" + "c/" * 2100])
def test_a_folder_path_too_long_for_the_file_system_is_one_line(tmp_path, folder):
    """Issue 20 L: a 10,000-character path, or one with a 300-character name, ended in "[Errno 36] File name too
    long" from the folder check instead of a RunError."""
    with pytest.raises(runs.RunError) as refused:
        start_tiny(tmp_path, dataset=folder)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 300 and "Errno" not in message
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
