"""The trainer refuses, before its first step, what would lose the run later (a second writer, checkpoints their
reader would refuse), and a full disk ends it in one line with no half file."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from conftest import TINY_TRAINING, random_dataset
from safetensors import SafetensorError

from ganlib.checkpoint import load_generator, read_metadata
from ganlib.cli import main
from ganlib.config import TrainConfig
from ganlib.data import ImageDataset
from ganlib.run_directory import STATE_FILE, STATUS_FILE, TEMPORARY_NAME, RunDirectoryBusy
from ganlib.train import Trainer

TINY = TINY_TRAINING  # a run that trains in a fraction of a second
TINY_FLAGS = ["--dataset", "digits", "--image-size", "32", "--latent-dim", "8", "--generator-width", "8",
              "--discriminator-width", "8", "--batch-size", "8", "--device", "cpu", "--quiet"]  # fmt: skip


def test_a_second_trainer_for_a_run_directory_stops_before_loading_anything(tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(out=str(out), steps=1, **TINY)
    first = Trainer(config)
    with pytest.raises(RunDirectoryBusy, match=rf"being written by another training process \(pid {os.getpid()}\)"):
        Trainer(config)
    first.run()  # the refused one wrote nothing that disturbs it; run() lets go when it returns
    resumed = Trainer.resume(out, steps=2)
    for start in (lambda: Trainer.resume(out, steps=3), lambda: Trainer(config)):
        with pytest.raises(RunDirectoryBusy):
            start()
    resumed.run()
    assert load_generator(out / "generator.safetensors").metadata["training"]["steps"] == 2


def test_a_trainer_that_fails_to_start_lets_the_next_one_in(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="data set images are 32 px"):
        Trainer(TrainConfig(out=str(out), **{**TINY, "image_size": 64}), dataset=random_dataset(size=32))
    assert not out.exists()  # nothing was written, not even the folder
    Trainer(TrainConfig(out=str(out), steps=1, **TINY)).run()


def many_classes(count: int) -> ImageDataset:
    base = random_dataset(n=64)
    labels = {"class": np.arange(64) % count}
    return ImageDataset("photos", base.images, labels, {"class": tuple(f"c{i}" for i in range(count))})


def test_a_run_whose_checkpoints_would_be_refused_stops_before_its_first_step(tmp_path):
    """An image folder with 2,001 class subfolders trained to the end, and both its files were refused on load
    ("a metadata list has 2,001 entries"): the whole run lost."""
    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(out=str(out), steps=2, **TINY), dataset=many_classes(2001))
    with pytest.raises(ValueError, match="attribute 'class' has 2,001 classes .* at most 2,000") as error:
        trainer.run()
    assert "\n" not in str(error.value)
    assert trainer.step == 0 and not out.exists()
    Trainer(TrainConfig(out=str(out), steps=1, **TINY), dataset=many_classes(2000)).run()  # the bound itself is fine
    assert load_generator(out / "generator.safetensors").metadata["dataset"]["attributes"]["class"][-1] == "c1999"


@pytest.mark.parametrize(
    "name, words",
    [
        ("n" * 5000, "5,000 characters"),  # a data set name longer than any metadata text may be
        ("ph\udcffotos", "U+DCFF, a lone surrogate"),  # a folder name that is not UTF-8, as os.listdir gives it
    ],
)
def test_metadata_the_reader_would_refuse_stops_the_run_before_its_first_step(tmp_path, name, words):
    out = tmp_path / "run"
    dataset = random_dataset()
    dataset.name = name
    with pytest.raises(
        ValueError, match=f"its checkpoints would be refused when read back .*{re.escape(words)}"
    ) as error:
        Trainer(TrainConfig(out=str(out), steps=1, **TINY), dataset=dataset).run()
    assert "\n" not in str(error.value) and not out.exists()


def full_disk_after(calls: int):
    """A safetensors writer that writes ``calls`` files, then fails as a full disk does, half a file in place."""
    from safetensors.torch import save_file as real_save_file

    written = []

    def save_file(tensors, filename, metadata=None):
        if len(written) >= calls:
            with open(filename, "wb") as handle:
                handle.write(b"half a file")
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        written.append(filename)
        return real_save_file(tensors, filename, metadata=metadata)

    return save_file


def test_a_full_disk_at_a_checkpoint_ends_train_in_one_line_with_no_half_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    monkeypatch.setattr("ganlib.checkpoint.save_file", full_disk_after(0))
    assert main(["train", *TINY_FLAGS, "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: No space left on device: {out / STATE_FILE}", err
    assert [p for p in out.rglob("*") if TEMPORARY_NAME.fullmatch(p.name)] == []  # the half file is gone
    assert not (out / STATE_FILE).exists() and not (out / "generator.safetensors").exists()
    status = json.loads((out / STATUS_FILE).read_text())
    assert status["state"] == "failed" and "No space left on device" in status["message"]


def test_a_full_disk_that_refuses_even_the_failed_status_still_names_the_checkpoint(tmp_path, monkeypatch, capsys):
    """The last status write fails too on a full disk; the error the user sees is the checkpoint's, not that one."""
    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(out=str(out), steps=2, **TINY))
    monkeypatch.setattr("ganlib.checkpoint.save_file", full_disk_after(1))  # the state is written, G's file is not
    real_write_status = trainer._write_status

    def write_status(state, message=""):
        if state == "failed":
            raise OSError(28, "No space left on device", str(out / STATUS_FILE))
        real_write_status(state, message)

    trainer._write_status = write_status
    with pytest.raises(OSError) as error:
        trainer.run()
    assert error.value.filename == str(out / "generator.safetensors")
    assert [p for p in out.rglob("*") if TEMPORARY_NAME.fullmatch(p.name)] == []


def test_resume_refuses_a_training_state_without_a_summary(tmp_path, monkeypatch):
    out = tmp_path / "run"
    Trainer(TrainConfig(out=str(out), steps=1, **TINY)).run()

    def without_training(path):  # a foreign state file whose metadata passes the schema but has no summary
        metadata = read_metadata(path)
        metadata.pop("training")
        return metadata

    monkeypatch.setattr("ganlib.checkpoint.read_metadata", without_training)
    with pytest.raises(ValueError, match="training_state.safetensors: its metadata has no training summary"):
        Trainer.resume(out)
    monkeypatch.undo()
    Trainer.resume(out, steps=2).run()  # the refused resume let go of the lock at once
