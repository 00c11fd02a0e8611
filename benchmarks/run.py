"""Run the benchmarks on demand and print each figure with its target ratio (>= 1.00 meets the target).

python -m benchmarks.run                   # everything (about 20 minutes on 2 cores, 15 of them the stage group)
python -m benchmarks.run dashboard toy     # some groups
python -m benchmarks.run stage             # the talk demo in a real browser, 10 runs (bench_stage.py: --runs, --json)

On demand only, in no group: python -m benchmarks.bench_same_quality, our trainer's losses and samples against the
reference DCGAN's over 1,000 steps each (8-25 minutes).
"""

from __future__ import annotations

import math
import platform
import sys

import torch

from . import bench_dashboard, bench_stage, bench_toy, bench_training

GROUPS = {
    "dashboard": [bench_dashboard.grid_and_interpolation, bench_dashboard.tsne, bench_dashboard.first_render],
    "training": [bench_training.training_throughput, bench_training.toonfaces_render],
    "toy": [bench_toy.toy_steps_per_second],
    "stage": [bench_stage.stage],
}


def main(argv: list[str]) -> int:
    chosen = argv or list(GROUPS)
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown:
        print(f"unknown group(s) {unknown}; choose from {list(GROUPS)}")
        return 2
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'benchmark':52s} {'value':>10s} {'unit':6s} {'target':>8s} {'ratio':>6s}")
    for group in chosen:
        for bench in GROUPS[group]:
            for result in bench():
                ratio = result.ratio
                target = "-" if result.target is None else f"{result.target:g}"
                value = "n/a" if math.isnan(result.value) else f"{result.value:.3g}"
                ratio_text = "-" if ratio is None or math.isnan(ratio) else f"{ratio:.2f}"
                print(
                    f"{result.name:52s} {value:>10s} {result.unit:6s} {target:>8s} {ratio_text:>6s}  {result.note}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
