"""Every GPU path of ganlib in a few minutes: run it whenever a GPU is at hand (``make gpu-smoke``).

    python -m benchmarks.gpu_smoke [--device cuda|cuda:N|cpu] [--work DIR]

Checks, each a row of one table, and a non-zero exit if any fails:
- bf16 and fp32 runs on the device, with sample grids and checkpoints, their metadata naming the precision;
- resume across Adam implementations (fused -> loop -> foreach -> fused), Adam's step counter where each wants it;
- exactness: with ``--deterministic``, N steps straight and N/2 + resume + N/2 give identical weights;
- export to fp16, then, with the GPU hidden (CUDA_VISIBLE_DEVICES=""): open it, ``sample``, and
  ``evaluate --quality-only``, as a user without a GPU would with a GPU-trained file;
- the GPU run resumed on the CPU;
- torchrun with one process more than there are GPUs: the one-line note and a CPU (gloo) run, and ``--device cuda``
  refused naming the GPU count (on a CPU: a two-process gloo run);
- bench_speed's figures with the reference loop on the same device.

``--device cpu`` runs the same checks with tiny sizes (about 2 minutes on 2 busy cores): tests/test_gpu_smoke.py
runs it, so the script keeps working between the days a GPU is lent. On one GPU it is meant to take at most 8
minutes, most of it starting processes (not yet timed on a GPU).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
STATE = Path("state") / "training_state.safetensors"
# (flags, steps): a CPU run must take seconds; a GPU one long enough to show its speed and cross a few intervals
SIZES = {
    "cpu": (["--latent-dim", "8", "--generator-width", "8", "--discriminator-width", "8", "--batch-size", "8",
             "--log-every", "1", "--sample-every", "1", "--checkpoint-every", "1"], 2),
    "cuda": (["--batch-size", "64", "--log-every", "10", "--sample-every", "30", "--checkpoint-every", "30"], 60),
}  # fmt: skip


class CheckFailed(AssertionError):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Smoke:
    def __init__(self, device: str, work: Path):
        self.device, self.work = device, work
        self.kind = "cuda" if device.startswith("cuda") else "cpu"
        flags, self.steps = SIZES[self.kind]
        self.flags = ["--dataset", "digits", "--image-size", "32", "--device", self.kind, *flags, "--quiet"]
        self.rows: list[tuple[str, bool, float, str]] = []

    # ------------------------------------------------------------------ plumbing
    def check(self, name: str, run) -> None:
        started = time.perf_counter()
        try:
            detail, ok = run(), True
        except Exception as error:  # a failed check is a row of the table, and the next check still runs
            detail, ok = f"{type(error).__name__}: {error}".splitlines()[0][:160], False
        self.rows.append((name, ok, time.perf_counter() - started, detail or ""))

    def ganlib(self, *arguments: str) -> str:
        """``ganlib ARGUMENTS`` in this process (the device visible); its stdout, or CheckFailed with its error."""
        from ganlib.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(arguments))
        require(code == 0, f"ganlib {arguments[0]} exited {code}: {err.getvalue().strip()[-300:]}")
        return out.getvalue() + err.getvalue()

    def subprocess(self, command: list[str], hide_gpu: bool = False, expect: int = 0) -> str:
        env = {**os.environ, "OMP_NUM_THREADS": "1"} if self.kind == "cpu" else dict(os.environ)
        if hide_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        output = done.stdout + done.stderr
        require(done.returncode == expect, f"exit {done.returncode} (expected {expect}): {output.strip()[-300:]}")
        return output

    def train(self, out: Path, *extra: str, steps: int | None = None) -> Path:
        self.ganlib("train", *self.flags, "--steps", str(steps or self.steps), "--out", str(out), *extra)
        return out

    # ------------------------------------------------------------------ checks
    def precision_run(self, precision: str) -> str:
        out = self.train(self.work / precision, "--precision", precision)
        status = json.loads((out / "status.json").read_text())
        require(status["state"] == "finished", f"status {status['state']}")
        grids = sorted((out / "samples").glob("*.png"))
        require(len(grids) >= 2, f"{len(grids)} sample grid(s)")
        stats = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
        require(all(math.isfinite(v) for row in stats for v in row.values() if isinstance(v, float)), "NaN in stats")
        import ganlib

        metadata = ganlib.load_generator(out / "generator.safetensors").metadata["training"]
        require(metadata["precision"] == precision, f"metadata says {metadata['precision']}")
        require(metadata["device"].startswith(self.kind), f"trained on {metadata['device']}")
        return f"{status['step']} steps, {stats[-1]['images_per_second']:.0f} img/s, {len(grids)} grids, {metadata['device']}"

    def adam_round_trip(self) -> str:
        from ganlib.devices import adam_step_device
        from ganlib.train import Trainer

        out = self.work / "adam"
        shutil.copytree(self.work / "fp32", out)
        steps = self.steps
        for implementation in ("loop", "foreach", "fused"):
            steps += 2
            trainer = Trainer.resume(out, steps=steps, adam=implementation)
            fused = implementation == "fused"
            for optimizer in (trainer.optimizer_g, trainer.optimizer_d):
                for param, state in optimizer.state.items():
                    where = state["step"].device
                    require(where == adam_step_device(param.device, fused), f"{implementation}: Adam's step on {where}")
            trainer.run()
        return f"fused -> loop -> foreach -> fused, {steps} steps, Adam's step on the right device each time"

    def exactness(self) -> str:
        # the instance noise's end named, so that the shorter run and its extension follow the straight run's
        # schedule (a run extended with --resume otherwise keeps its own, shorter one)
        horizon = ("--deterministic", "--instance-noise-steps", str(2 * self.steps))
        straight = self.train(self.work / "straight", *horizon, steps=2 * self.steps)
        halves = self.train(self.work / "halves", *horizon, steps=self.steps)
        self.ganlib("train", "--resume", str(halves), "--steps", str(2 * self.steps), "--quiet")
        first, second = load_file(str(straight / STATE)), load_file(str(halves / STATE))
        names = [k for k in first if k.split(".")[0] in ("generator", "discriminator", "ema")]
        differ = [k for k in names if not torch.equal(first[k], second[k])]
        require(names and not differ, f"{len(differ)} of {len(names)} tensors differ, e.g. {differ[:1]}")
        return f"{2 * self.steps} steps = {self.steps} + resume + {self.steps}, bit for bit ({len(names)} tensors)"

    def export_and_use_without_gpu(self) -> str:
        exported = self.work / "exported-fp16.safetensors"
        self.ganlib("export", str(self.work / "fp32" / "generator.safetensors"), "--half", "--out", str(exported))
        script = (
            "import sys, torch, ganlib; g = ganlib.load_generator(sys.argv[1]); "
            "assert not torch.cuda.is_available(); assert next(g.parameters()).device.type == 'cpu'; "
            "print(g.metadata['training']['device'])"
        )
        trained_on = self.subprocess([sys.executable, "-c", script, str(exported)], hide_gpu=True).strip()
        grid = self.work / "grid.png"
        self.subprocess([sys.executable, "-m", "ganlib", "sample", str(exported), "--n", "4", "--out", str(grid)], True)
        require(grid.is_file(), "sample wrote no grid")
        report = self.work / "quality.json"
        self.subprocess([sys.executable, "-m", "ganlib", "evaluate", str(exported), "--quality-only", "--n", "32",
                         "--quiet", "--out", str(report)], hide_gpu=True)  # fmt: skip
        quality = json.loads(report.read_text())
        return f"opened, sampled, evaluated on the CPU (trained on {trained_on}): FD ratio {quality['fd_ratio']:.2f}"

    def resume_on_cpu(self) -> str:
        out = self.work / "on-cpu"
        shutil.copytree(self.work / "fp32", out)
        output = self.subprocess(
            [sys.executable, "-m", "ganlib", "train", "--resume", str(out), "--steps", str(self.steps + 2),
             "--device", "cpu", "--quiet"], hide_gpu=True,
        )  # fmt: skip
        metadata = json.loads((out / "status.json").read_text())
        require(metadata["state"] == "finished", f"status {metadata['state']}")
        note = next((line for line in output.splitlines() if line.startswith("note:")), "")
        return f"{metadata['step']} steps" + (f"; {note}" if note else "")

    def torchrun(self) -> str:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        train = ["-m", "ganlib", "train", *[f for f in self.flags if f not in ("--device", self.kind)]]
        train = [*train, "--steps", "2", "--log-every", "1"]
        if self.kind == "cpu":
            out = self.work / "torchrun"
            output = self.subprocess([*launcher, "--nproc_per_node", "2", *train, "--device", "cpu", "--out", str(out)])
            require("on 2 processes" in output, output.strip()[-200:])
            return "2 processes, gloo"
        gpus = torch.cuda.device_count()
        processes = ["--nproc_per_node", str(gpus + 1)]
        out = self.work / "torchrun"
        output = self.subprocess([*launcher, *processes, *train, "--out", str(out)])
        require("training on the CPU with gloo" in output, f"no note: {output.strip()[-200:]}")
        refused = self.subprocess([*launcher, *processes, *train, "--device", "cuda", "--out", str(out) + "-cuda"],
                                  expect=1)  # fmt: skip
        require(f"{gpus} GPU(s)" in refused, f"--device cuda not refused by GPU count: {refused.strip()[-200:]}")
        return f"{gpus + 1} processes on {gpus} GPU(s): CPU with a note; --device cuda refused"

    def bench(self) -> str:
        from benchmarks import bench_speed

        quick = self.kind == "cpu"
        with contextlib.redirect_stdout(io.StringIO()):
            report = bench_speed.run(
                [32], [8 if quick else 64], 2 if quick else 20, self.device, min_seconds=0.05 if quick else 1.0,
                matmul_size=256 if quick else None, profile_batch=8 if quick else 64,
            )  # fmt: skip
        row = report["rows"][0]
        require(row["ours_img_s"] > 0 and row["reference_img_s"] > 0, json.dumps(row))
        peak = next((f", MFU {v} of the datasheet" for k, v in row.items() if k.startswith("mfu_vs_datasheet")), "")
        return (
            f"32 px batch {row['batch']}: ours {row['ours_img_s']} img/s, reference {row['reference_img_s']} "
            f"({row['ratio']}x){peak}; {report.get('gpu', report['machine'])}"
        )

    def run(self) -> int:
        self.check("train bf16: grids, checkpoints", lambda: self.precision_run("bf16"))
        self.check("train fp32: grids, checkpoints", lambda: self.precision_run("fp32"))
        self.check("resume fused -> loop -> foreach -> fused", self.adam_round_trip)
        self.check("resume exact with --deterministic", self.exactness)
        self.check("fp16 export: open, sample, evaluate, no GPU", self.export_and_use_without_gpu)
        self.check("the run resumed on the CPU", self.resume_on_cpu)
        self.check("torchrun", self.torchrun)
        self.check("bench_speed, reference on the same device", self.bench)
        self.print_table()
        return 0 if all(ok for _, ok, _, _ in self.rows) else 1

    def print_table(self) -> None:
        name = torch.cuda.get_device_name(torch.device(self.device)) if self.kind == "cuda" else "cpu"
        print(f"gpu smoke on {self.device} ({name}), torch {torch.__version__}")
        width = max(len(row[0]) for row in self.rows)
        print(f"{'check':{width}s}  result  seconds  detail")
        for check, ok, seconds, detail in self.rows:
            print(f"{check:{width}s}  {'ok' if ok else 'FAIL':6s}  {seconds:7.1f}  {detail}")
        failed = sum(not ok for _, ok, _, _ in self.rows)
        print(f"{len(self.rows) - failed} of {len(self.rows)} checks passed")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (tiny sizes: the test suite's run)")
    parser.add_argument("--work", default=None, help="folder for the runs (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    from benchmarks.bench_speed import parse_device

    try:
        device = parse_device(args.device)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))  # "--device cuda" in the runs is then this GPU
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return Smoke(device, work).run()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
