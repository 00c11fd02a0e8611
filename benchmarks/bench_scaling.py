"""Scaling out with torchrun, measured: images/s of `ganlib train` on 1 and N processes of this machine.

    python -m benchmarks.bench_scaling [--nproc 2] [--steps 60] [--image-size 32] [--json scaling.json]

Each configuration is a real `ganlib train` command (torchrun for several processes, gloo on a CPU), trained for
--steps on the procedural toonfaces; its speed is the median images_per_second of the stats lines after the first
(which holds start-up). Configurations, one process per core as a multi-machine run would have it:
- 1 process, 1 thread: the unit;
- N processes, 1 thread each, batch 64 per process (global batch 64 N): weak scaling, the usual way to add machines;
- N processes, 1 thread each, batch 64 / N per process (global batch 64): strong scaling, the same training;
- 1 process, N threads, batch 64: what one process already gets from the same cores.
Efficiency = images/s over N x the unit's (1.0 is perfect). Not part of the test suite (tests/test_distributed.py
checks correctness); run it on a quiet machine, and it prints the CPU flags and load beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_speed import cpu_flags
from .common import ROOT


def train_command(processes: int, threads: int, batch: int, steps: int, image_size: int, out: Path) -> list[str]:
    # --device cpu: this measures CPU cores (with the default auto, a machine with GPUs would train on them)
    train = ["-m", "ganlib", "train", "--dataset", "toonfaces", "--image-size", str(image_size), "--device", "cpu"]
    train += ["--steps", str(steps), "--batch-size", str(batch), "--threads", str(threads), "--out", str(out)]
    train += ["--log-every", "10", "--sample-every", str(steps), "--checkpoint-every", str(steps), "--quiet"]
    if processes == 1:
        return [sys.executable, *train]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    return [*launcher, *train]


def images_per_second(run_dir: Path) -> float:
    lines = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines() if line.strip()]
    speeds = [line["images_per_second"] for line in lines[1:]] or [line["images_per_second"] for line in lines]
    return statistics.median(speeds)


def measure(nproc: int, steps: int, image_size: int, log=print) -> dict:
    configurations = {
        "1 process x 1 thread (unit)": (1, 1, 64),
        f"{nproc} processes x 1 thread, batch 64 each (weak)": (nproc, 1, 64),
        f"{nproc} processes x 1 thread, batch {64 // nproc} each (strong)": (nproc, 1, 64 // nproc),
        f"1 process x {nproc} threads": (1, nproc, 64),
    }
    work = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    env = {**os.environ, "GANLIB_CACHE": os.environ.get("GANLIB_CACHE", str(work / "cache"))}
    env.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default for several processes; --threads sets torch's
    figures = {}
    load_before = os.getloadavg()
    for name, (processes, threads, batch) in configurations.items():
        out = work / name.split(" (")[0].replace(" ", "_").replace(",", "")
        command = train_command(processes, threads, batch, steps, image_size, out)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
        figures[name] = {
            "processes": processes,
            "threads": threads,
            "batch_per_process": batch,
            "images_per_second": images_per_second(out),
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
        log(f"{name}: {figures[name]['images_per_second']:.1f} img/s")
    unit = figures["1 process x 1 thread (unit)"]["images_per_second"]
    for figure in figures.values():
        cores = figure["processes"] * figure["threads"]
        figure["efficiency"] = round(figure["images_per_second"] / (cores * unit), 3)
    return {
        "nproc": nproc,
        "steps": steps,
        "image_size": image_size,
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "figures": figures,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2, help="processes for the torchrun rows (default %(default)s)")
    parser.add_argument("--steps", type=int, default=60, help="training steps per configuration")
    parser.add_argument("--image-size", type=int, default=32, choices=(32, 64, 128))
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    args = parser.parse_args(argv)
    if args.nproc < 2 or args.steps < 20:
        parser.error("--nproc must be at least 2 and --steps at least 20 (two stats lines after start-up)")
    report = measure(args.nproc, args.steps, args.image_size, log=lambda line: print(line, file=sys.stderr))
    print(f"cpu flags: {' '.join(report['cpu_flags'])}; {report['cores']} cores")
    print(f"load average before {report['load_average_before']}, after {report['load_average_after']}")
    print(f"{'configuration (' + str(args.image_size) + ' px)':58s} {'img/s':>8s} {'efficiency':>10s}")
    for name, figure in report["figures"].items():
        print(f"{name:58s} {figure['images_per_second']:8.1f} {figure['efficiency']:10.2f}")
    print("efficiency = img/s / (cores used x the 1-process 1-thread img/s): 1.0 is perfect scaling")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
