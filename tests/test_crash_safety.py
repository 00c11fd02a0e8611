"""A run survives SIGKILL at any moment: its checkpoint loads, --resume continues from it, and the temp files of
writes cut short are cleared when the run resumes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganlib.checkpoint import load_generator, read_metadata
from ganlib.run_directory import GENERATOR_FILE, STATE_FILE, STATUS_FILE, TEMPORARY_NAME, commit, remove_orphans

TRAIN = [sys.executable, "-m", "ganlib", "train"]
TINY = [
    "--dataset",
    "digits",
    "--image-size",
    "32",
    "--latent-dim",
    "8",
    "--generator-width",
    "8",
    "--discriminator-width",
    "8",
    "--batch-size",
    "8",
    "--checkpoint-every",
    "1",
    "--sample-every",
    "5",
    "--threads",
    "1",
    "--quiet",
]


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def temp_files(run_dir: Path) -> list[Path]:
    return [p for p in run_dir.rglob("*") if TEMPORARY_NAME.fullmatch(p.name)]


def test_remove_orphans_clears_only_dead_writers_temp_files(tmp_path):
    dead, alive = dead_pid(), os.getppid()
    for folder in ("state", "checkpoints", "samples"):
        (tmp_path / folder).mkdir()
    orphans = [
        tmp_path / f"status.json.tmp{dead}",
        tmp_path / "state" / f"training_state.safetensors.tmp{dead}",
        tmp_path / "checkpoints" / f"step_000004.safetensors.tmp{dead}",
        tmp_path / "samples" / f"step_000005.png.tmp{dead}",  # sample grids are written atomically too
        tmp_path / f"generator.safetensors.tmp{os.getpid()}",
    ]  # this process has not started writing yet
    kept = [
        tmp_path / f"status.json.tmp{alive}",  # another process may be writing it right now
        tmp_path / "notes.tmp",
        tmp_path / "data.tmp12ab",
        tmp_path / "generator.safetensors",
    ]
    for path in orphans + kept:
        path.write_bytes(b"x")
    (tmp_path / f"folder.tmp{dead}").mkdir()
    assert sorted(remove_orphans(tmp_path)) == sorted(orphans)
    assert all(path.exists() for path in kept) and (tmp_path / f"folder.tmp{dead}").is_dir()


def test_commit_flushes_the_data_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        os,
        "fsync",
        lambda fd: calls.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))) or real_fsync(fd),
    )
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append(("replace", Path(b).name)) or real_replace(a, b))
    (tmp_path / "a.json.tmp1").write_text("{}")
    commit(tmp_path / "a.json.tmp1", tmp_path / "a.json")
    assert calls == [("fsync", "a.json.tmp1"), ("replace", "a.json"), ("fsync", tmp_path.name)]


def wait_until(condition, what: str, process: subprocess.Popen, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            raise AssertionError(f"the trainer exited ({process.returncode}) before {what}: {process.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def running_status(run_dir: Path, pid: int) -> dict | None:
    try:
        status = json.loads((run_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return status if status.get("pid") == pid and status.get("state") == "running" else None


def kill_mid_write(run_dir: Path, process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGKILL the moment a temp file of ``process`` appears: a checkpoint or JSON write is under way. (Writes
    take a few percent of a tiny run's time, so random moments alone rarely land in one.)"""
    suffix = f".tmp{process.pid}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any(name.endswith(suffix) for folder in (run_dir, run_dir / "state") for name in os.listdir(folder)):
            break
    process.kill()


def kill_and_resume(run_dir: Path, kills: int, seed: int) -> None:
    """Start a long tiny run that checkpoints every step, SIGKILL it (at a random moment, or in the middle of a
    write, in turn), check what it left, resume it, and again, ``kills`` times; then let a last resume finish."""
    schedule = random.Random(seed)
    command = [*TRAIN, *TINY, "--steps", "100000", "--out", str(run_dir)]
    resumed_from = 0
    for kill in range(kills + 1):
        last = kill == kills
        if last:
            command += ["--steps", str(read_metadata(run_dir / STATE_FILE)["training"]["steps"] + 2)]
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            status = wait_until(lambda pid=process.pid: running_status(run_dir, pid), "it reported running", process)
            if kill:  # the resumed run has cleared what the killed one left, and continues from its checkpoint
                assert [p.name for p in temp_files(run_dir) if not p.name.endswith(f".tmp{process.pid}")] == []
                assert status["step"] == resumed_from
            if last:
                assert process.wait(timeout=60) == 0, process.stderr.read()
                break
            wait_until(lambda: (run_dir / GENERATOR_FILE).exists(), "the first checkpoint", process)
            time.sleep(schedule.uniform(0.0, 0.4))
            if kill % 2 == 0:
                kill_mid_write(run_dir, process)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stderr.close()
        generator = load_generator(run_dir / GENERATOR_FILE)
        resumed_from = read_metadata(run_dir / STATE_FILE)["training"]["steps"]
        assert generator.metadata["training"]["steps"] in (resumed_from, resumed_from - 1)  # killed between the two
        # as a kill in the middle of a write leaves it (the kill above may or may not have landed in one)
        (run_dir / "state" / f"training_state.safetensors.tmp{process.pid}").write_bytes(b"\0" * 1024)
        command = [*TRAIN, "--resume", str(run_dir), "--threads", "1", "--quiet"]
    assert json.loads((run_dir / STATUS_FILE).read_text())["state"] == "finished"
    assert temp_files(run_dir) == []


@pytest.fixture
def child_environment(monkeypatch):
    """The trainers import this checkout's ganlib and use one thread each."""
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.mark.slow
def test_three_kills_leave_a_loadable_resumable_run(tmp_path, child_environment):
    kill_and_resume(tmp_path / "run", kills=3, seed=0)


@pytest.mark.slow
@pytest.mark.soak
def test_twenty_kills_leave_a_loadable_resumable_run(tmp_path, child_environment):
    kill_and_resume(tmp_path / "run", kills=20, seed=1)
