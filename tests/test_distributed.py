"""torchrun: several processes train one model (gloo on CPU), rank 0 alone writes, weights stay identical."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from ganlib.run_directory import GENERATOR_FILE, STATS_FILE, STATUS_FILE

# --device cpu: these check gloo on the CPU, where resume is exact; with auto, a machine with GPUs would use them
TINY = ["--dataset", "digits", "--image-size", "32", "--latent-dim", "8", "--generator-width", "8",
        "--discriminator-width", "8", "--batch-size", "8", "--log-every", "1", "--device", "cpu", "--quiet"]  # fmt: skip


def torchrun(*arguments: str, processes: int = 2) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "ganlib", "train", *arguments]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_two_processes_train_one_model_into_one_run_directory(tmp_path):
    out = tmp_path / "run"
    result = torchrun(*TINY, "--steps", "6", "--checkpoint-every", "3", "--out", str(out))
    assert result.stdout.count("wrote ") == 1 and "on 2 processes" in result.stdout  # rank 0 speaks for the run
    # The trainer compares the ranks' weights at every checkpoint (steps 3 and 6) and stops if they differ.
    assert json.loads((out / STATUS_FILE).read_text())["state"] == "finished"
    steps = [json.loads(line)["step"] for line in (out / STATS_FILE).read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # one writer: each line once
    metadata = json.loads(_metadata(out / GENERATOR_FILE))
    assert metadata["training"]["world_size"] == 2 and metadata["training"]["images_seen"] == 6 * 8 * 2
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "generator.safetensors", "samples", "state",
                                                     "stats.jsonl", "status.json"]  # fmt: skip


@pytest.mark.slow
def test_fused_adam_under_ddp_trains_what_the_plain_loop_does(tmp_path):
    """DDP hands Adam gradients it has averaged; the fused kernel (the default) must still update each weight with
    its own gradient and moments, as the loop implementation does."""
    for implementation in ("fused", "loop"):
        torchrun(*TINY, "--steps", "4", "--adam", implementation, "--out", str(tmp_path / implementation))
    fused, loop = (
        load_file(str(tmp_path / name / "state" / "training_state.safetensors")) for name in ("fused", "loop")
    )
    weights = [k for k in loop if k.split(".")[0] in ("generator", "discriminator") and loop[k].is_floating_point()]
    assert weights and max((fused[k] - loop[k]).abs().max().item() for k in weights) < 1e-6


def _metadata(path) -> str:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata()["ganlib"]


FINGERPRINT_SCRIPT = """
import sys
import torch
import torch.distributed as dist
from ganlib.distributed import environment_world, fingerprints_agree
dist.init_process_group("gloo")
world = environment_world()
torch.manual_seed(0)
module = torch.nn.Linear(4, 3)
if sys.argv[1] == "perturb" and world.rank == 1:
    with torch.no_grad():
        module.weight[0, 0] += 1e-6
print(f"rank {world.rank}: {fingerprints_agree(world, [module])}")
dist.destroy_process_group()
"""


@pytest.mark.slow
@pytest.mark.parametrize("perturb", [False, True])
def test_the_weight_check_tells_identical_ranks_from_drifted_ones(tmp_path, perturb):
    script = tmp_path / "fingerprints.py"
    script.write_text(FINGERPRINT_SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
               "perturb" if perturb else "same"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    agree = str(not perturb)  # the two ranks' lines may interleave on the shared stdout
    assert sorted(re.findall(r"rank (\d): (True|False)", result.stdout)) == [("0", agree), ("1", agree)]


@pytest.mark.slow
def test_resume_under_torchrun_is_exact(tmp_path):
    horizon = ("--instance-noise-steps", "6")  # the extended run follows the straight run's noise schedule
    torchrun(*TINY, *horizon, "--steps", "6", "--out", str(tmp_path / "straight"))
    torchrun(*TINY, *horizon, "--steps", "3", "--out", str(tmp_path / "halves"))
    torchrun("--resume", str(tmp_path / "halves"), "--steps", "6", "--quiet")
    straight = load_file(str(tmp_path / "straight" / GENERATOR_FILE))
    resumed = load_file(str(tmp_path / "halves" / GENERATOR_FILE))
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)
