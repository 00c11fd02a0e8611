"""Faults end every command in one line that names the file: a full disk, a name too long, a foreign run folder,
a JSON file that never ends or nests without end, a run larger than the machine, a second writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from safetensors import SafetensorError

from ganlib.cli import main
from ganlib.run_directory import STATS_FILE, STATUS_FILE

TINY = ["--dataset", "digits", "--image-size", "32", "--latent-dim", "8", "--generator-width", "8",
        "--discriminator-width", "8", "--batch-size", "8", "--device", "cpu", "--threads", "1", "--quiet"]  # fmt: skip


def one_line_error(capsys, argv, words) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and words in err, err
    return err


@pytest.fixture
def full_disk(tmp_path):
    """A name whose writes fail as on a full disk: a link to /dev/full (every write there is ENOSPC)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")

    def name(file: str) -> Path:
        path = tmp_path / file
        path.symlink_to("/dev/full")
        return path

    return name


def test_a_full_disk_ends_sample_and_interpolate_in_one_line_naming_the_file(tiny_checkpoint, full_disk, capsys):
    ckpt = str(tiny_checkpoint)
    for argv, out in (
        (["sample", ckpt, "--n", "4"], full_disk("grid.png")),  # was "error: No space left on device", no name
        (["interpolate", ckpt, "--seeds", "1", "2", "--frames", "2"], full_disk("walk.gif")),
        (["interpolate", ckpt, "--seeds", "1", "2", "--frames", "2"], full_disk("strip.png")),
    ):
        one_line_error(capsys, [*argv, "--out", str(out)], f"error: No space left on device: {out}")


@pytest.mark.slow
def test_a_full_disk_ends_project_in_one_line_naming_the_file(tiny_checkpoint, tmp_path, full_disk, capsys):
    face = tmp_path / "face.png"
    Image.new("RGB", (32, 32), (200, 150, 100)).save(face)
    argv = ["project", str(tiny_checkpoint), str(face), "--steps", "1", "--restarts", "1", "--encoder", "none"]
    out = full_disk("z.npy")
    one_line_error(capsys, [*argv, "--quiet", "--out", str(out)], f"error: No space left on device: {out}")
    grid = full_disk("recon.png")  # the second file project writes: named as itself, not as --out
    one_line_error(capsys, [*argv, "--quiet", "--out", str(tmp_path / "z2.npy"), "--grid", str(grid)], f": {grid}")


def test_a_full_disk_ends_export_in_one_line_naming_the_file(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    """safetensors raises its own SafetensorError for a full disk, which is not an OSError: it was a traceback."""

    def save_file(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr("ganlib.checkpoint.save_file", save_file)
    out = tmp_path / "copy.safetensors"
    one_line_error(capsys, ["export", str(tiny_checkpoint), "--out", str(out)], f"No space left on device: {out}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [tiny_checkpoint.name]  # no half file, no temp file


def test_a_name_too_long_is_one_short_line(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / ("a" * 10_000 + ".png")
    err = one_line_error(capsys, ["sample", str(tiny_checkpoint), "--out", str(out)], "File name too long")
    assert len(err) < 200 and "characters)" in err
    err = one_line_error(capsys, ["train", *TINY, "--steps", "1", "--out", str(out.with_suffix(""))], "too long")
    assert len(err) < 200


def test_resume_of_a_foreign_run_folder_is_one_line_naming_its_config(tmp_path, capsys):
    for name, content, words in (
        ("dict", {"hello": 1}, "is not the config.json of a ganlib run"),  # was KeyError: 'train'
        ("list", [1, 2, 3], "is not the config.json of a ganlib run"),  # was TypeError
        ("history", {"train": {}, "history": "x"}, "is not the config.json of a ganlib run"),
        ("values", {"train": {"lr": "fast"}}, "lr must be a number, got 'fast'"),
        ("deep", None, "nested more than"),
    ):
        run_dir = tmp_path / name
        run_dir.mkdir()
        text = "[" * 100_000 + "]" * 100_000 if content is None else json.dumps(content)
        (run_dir / "config.json").write_text(text)
        err = one_line_error(capsys, ["train", "--resume", str(run_dir), "--quiet"], words)
        assert str(run_dir / "config.json") in err


def test_evaluate_from_json_reads_within_a_size_and_a_depth_limit(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)  # was RecursionError
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(5 << 20)
    for path, words in (
        ("/dev/zero", "/dev/zero is not a regular file"),  # never returned, growing by hundreds of MB a second
        (str(deep), "is nested more than 32 levels deep"),
        (str(big), "is larger than 4 MB"),
        (str(tmp_path / "missing.json"), "No such file or directory"),
    ):
        one_line_error(capsys, ["evaluate", "--from-json", path], words)


def test_a_run_larger_than_the_machine_is_refused_before_anything_loads(tmp_path, monkeypatch, capsys):
    """The schema's largest model (about 70 GiB with Adam) and batch 4096 at 128 px ended in an allocator error or
    the OOM killer after minutes."""
    monkeypatch.setattr("ganlib.config.machine_memory_bytes", lambda: 24 << 30, raising=False)
    monkeypatch.setattr("ganlib.train.Trainer.__init__", lambda *a, **k: pytest.fail("it went on to train"))
    big = ["--image-size", "128", "--latent-dim", "4096", "--generator-width", "1024", "--discriminator-width", "1024"]
    for flags in (big, ["--image-size", "128", "--batch-size", "4096"]):
        err = one_line_error(capsys, ["train", *flags, "--out", str(tmp_path / "r"), "--quiet"], "this run needs")
        assert "more than this machine's 24.0 GiB" in err
    assert not (tmp_path / "r").exists()


@pytest.fixture
def child_environment(monkeypatch):
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.mark.slow
def test_a_second_train_into_one_out_ends_at_once_and_the_first_is_undisturbed(tmp_path, child_environment):
    """Both exited 0 before, their stats interleaved, and config.json came from one run, the generator from the
    other."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "ganlib", "train", *TINY, "--log-every", "1", "--out", str(out)]
    first = subprocess.Popen([*command, "--steps", "100000"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / STATUS_FILE).exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert first.poll() is None, first.stderr.read()
        second = subprocess.run([*command, "--steps", "3"], capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert second.stderr.strip() == (
            f"error: {out} is being written by another training process (pid {first.pid})"
        ), second.stderr
    finally:
        first.terminate()  # the Stop button's signal: a checkpoint, then exit 0
        assert first.wait(timeout=120) == 0, first.stderr.read()
        first.stderr.close()
    steps = [json.loads(line)["step"] for line in (out / STATS_FILE).read_text().splitlines()]
    assert steps == list(range(1, len(steps) + 1))  # one writer: each line once, in order
    assert json.loads((out / "config.json").read_text())["train"]["steps"] == 100000
