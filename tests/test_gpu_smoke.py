"""The GPU targets without a GPU: the smoke script's CPU variant end to end, and `make gpu-checkpoints` read as text
(its recipes are the bundled checkpoints' own, its files land where the tests do not look, nothing reinstalls)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from ganlib.checkpoint import read_metadata
from ganlib.cli import build_parser, train_config_from_args
from ganlib.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_smoke_script_passes_every_check_on_the_cpu(tmp_path, capsys):
    from benchmarks import gpu_smoke

    code = gpu_smoke.main(["--device", "cpu", "--work", str(tmp_path)])
    table = capsys.readouterr().out
    assert code == 0, table
    assert "8 of 8 checks passed" in table and "FAIL" not in table
    assert "bit for bit" in table and "evaluated on the CPU" in table


def test_the_smoke_script_fails_loudly(tmp_path, monkeypatch, capsys):
    """One failing check is a FAIL row and a non-zero exit, and the other checks still run."""
    from benchmarks import gpu_smoke

    ran = []
    for name in ("precision_run", "adam_round_trip", "exactness", "export_and_use_without_gpu", "resume_on_cpu",
                 "torchrun", "bench"):  # fmt: skip
        monkeypatch.setattr(gpu_smoke.Smoke, name, lambda self, *args, _name=name: ran.append(_name) or "fine")
    monkeypatch.setattr(gpu_smoke.Smoke, "exactness", lambda self: gpu_smoke.require(False, "3 of 52 tensors differ"))
    assert gpu_smoke.main(["--device", "cpu", "--work", str(tmp_path)]) == 1
    table = capsys.readouterr().out
    assert "FAIL" in table and "3 of 52 tensors differ" in table and "7 of 8 checks passed" in table
    assert "bench" in ran and "torchrun" in ran


def _gpu_checkpoint_commands() -> list[list[str]]:
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\ngpu-checkpoints:")[1].split("\n\n")[0].replace("\\\n", " ")
    return [shlex.split(part.replace("$$", "$")) for part in recipe.split(";") if "ganlib" in part]


def test_gpu_checkpoints_needs_no_setup_and_writes_nothing_into_checkpoints():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^gpu-checkpoints:\s*$", text, re.M), "no prerequisite: `setup` would reinstall torch"
    assert re.search(r"^gpu-smoke:\s*$", text, re.M)
    commands = _gpu_checkpoint_commands()
    outputs = [command[command.index("--out") + 1] for command in commands]
    assert len(outputs) == 4 and all(out.startswith("$(GPU_RUNS)/") for out in outputs)
    assert "GPU_RUNS ?= runs/gpu" in text and "checkpoints/" not in " ".join(outputs)


@pytest.mark.parametrize("name", ["toonfaces64", "toonfaces32", "digits32"])
def test_gpu_checkpoints_trains_the_bundled_recipe(name):
    written = read_metadata(ROOT / "checkpoints" / f"{name}.safetensors")["training"]["config"]
    bundled = TrainConfig.from_dict(written).to_dict()  # settings added since then at their defaults
    command = next(c for c in _gpu_checkpoint_commands() if "train" in c and c[c.index("--out") + 1].endswith(name))
    args = build_parser().parse_args(command[command.index("train") :])
    recipe = train_config_from_args(args).to_dict()
    assert recipe["device"] == "cuda" and recipe["max_minutes"] > 0
    same = ("dataset", "image_size", "num_images", "latent_dim", "generator_width", "discriminator_width",
            "batch_size", "steps", "lr", "beta1", "beta2", "loss", "d_steps", "label_smoothing", "instance_noise",
            "instance_noise_steps", "ema", "ema_decay", "seed", "sample_every")  # fmt: skip
    assert {key: recipe[key] for key in same} == {key: bundled[key] for key in same}


def test_gpu_checkpoints_caps_fit_nine_minutes_with_room_to_start():
    minutes = [float(c[c.index("--max-minutes") + 1]) for c in _gpu_checkpoint_commands() if "train" in c]
    assert len(minutes) == 3 and sum(minutes) <= 6  # about 1.5 minutes to render data and start torch three times


def test_gpu_python_keeps_a_python_that_already_fits(tmp_path):
    """The first Python whose torch sees a GPU is used as it is: no `make setup`, so nothing reinstalls torch."""
    found = subprocess.run(["sh", str(ROOT / "benchmarks" / "gpu_python.sh"), "/bin/false", "/bin/true"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=30)  # fmt: skip
    assert found.returncode == 0 and found.stdout.strip() == "/bin/true" and "make" not in found.stderr
