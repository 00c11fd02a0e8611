"""Training speed against a peer and against the hardware, in one run on the machine at hand.

    python -m benchmarks.bench_speed [--steps 6] [--sizes 32 64] [--batches 64 256] [--json speed.json]

For each image size and batch: images/s of ``ganlib``'s trainer and of the pytorch/examples loop
(benchmarks/reference_dcgan.py), interleaved so both see the same machine, and their ratio. Then the FLOPs of one
training step per image (``torch.utils.flop_counter``: G forward, D on real and fake with backward, G's step),
and MFU: FLOPs/image x images/s over a 2048 x 2048 matmul's rate measured in the same run (fp32 and bf16; on a
GPU also over the datasheet bf16 peak). Last, where one step of ours spends its time (torch.profiler, grouped:
convolutions, BatchNorm and activations, optimiser, EMA, data, host syncs), so the next gain is chosen by
measurement. Prints the CPU flags that decide which precision is fast, and writes everything as JSON.

``--compile`` adds a column: ours with G and D under ``torch.compile`` (inductor), timed after its compile and
warm-up, which are reported apart. It is a measurement, not a trainer option: on the 2-core fp32 VM it gained
nothing (0.98x at 32 px, 0.99x at 64 px, docs/bench_speed_compile.json), because inductor leaves the
convolutions, about 90% of the step, to oneDNN. The compile's seconds depend on inductor's cache of earlier runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from .reference_dcgan import reference_images_per_second

# Datasheet dense bf16 peaks (FLOP/s), for MFU on a GPU; a CPU's is measured instead.
GPU_BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return sorted(flag for flag in flags if flag.startswith(("amx", "avx512_bf16", "avx512f", "avx2", "fma")))


def matmul_rate(dtype: torch.dtype, device: str, size: int = 2048, repeat: int = 10) -> float:
    """FLOP/s of a size x size matmul in ``dtype``, after warm-up."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeat):
        a @ b
    _sync(device)
    return 2 * size**3 * repeat / (time.perf_counter() - started)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _trainer(size: int, batch: int, device: str, precision: str, compiled: bool = False):
    from ganlib.config import TrainConfig
    from ganlib.data import ImageDataset
    from ganlib.train import Trainer

    images = torch.randint(0, 256, (max(512, 4 * batch), 3, size, size), dtype=torch.uint8)
    config = TrainConfig(
        dataset="random", out="/tmp/ganlib-bench-speed", image_size=size, batch_size=batch, device=device,
        precision=precision,
    )  # fmt: skip
    trainer = Trainer(config, dataset=ImageDataset("random", images))
    if compiled:  # the step's modules, as the trainer calls them; the plain ones still own the weights
        trainer.generator_step = torch.compile(trainer.generator)
        trainer.discriminator_step = trainer.discriminator = torch.compile(trainer.discriminator)
    return trainer


def ours_images_per_second(
    size: int, batch: int, steps: int, device: str, precision: str, compiled: bool = False
) -> tuple[float, float]:
    """Images/s over ``steps`` steps after 2 of warm-up, and the warm-up's seconds (with ``compiled``, the compile)."""
    trainer = _trainer(size, batch, device, precision, compiled)
    started = time.perf_counter()
    for _ in range(2):
        trainer._train_step()
        trainer.step += 1
    _sync(device)
    warm_up_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        trainer._train_step()  # returns the step's numbers: its .item() calls are the loop's host syncs
        trainer.step += 1
    _sync(device)
    return steps * batch / (time.perf_counter() - started), warm_up_seconds


def flops_per_image(size: int, device: str) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    batch = 16
    trainer = _trainer(size, batch, device, "fp32")
    with FlopCounterMode(display=False) as counter:
        trainer._train_step()
    return counter.get_total_flops() / batch


CATEGORIES = {
    "convolutions": ("conv", "mkldnn_convolution", "convolution_backward", "cudnn_conv"),
    "BatchNorm and activations": (
        "batch_norm",
        "relu",
        "leaky_relu",
        "tanh",
        "sigmoid",
        "threshold_backward",
        "binary_cross_entropy",
        "log_sigmoid",
    ),  # fmt: skip
    "optimiser": ("adam", "_foreach", "addcmul", "addcdiv", "sqrt", "lerp_"),
    "data": ("randint", "index", "randn", "normal_", "div_", "sub_", "copy_", "to"),
    "host syncs": ("item", "_local_scalar_dense"),
}


def profile_step(size: int, batch: int, device: str, precision: str) -> dict[str, float]:
    """Self time of one training step's operators, in milliseconds, grouped into CATEGORIES ("other": the rest)."""
    from torch.profiler import ProfilerActivity, profile

    trainer = _trainer(size, batch, device, precision)
    for _ in range(2):
        trainer._train_step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities) as profiler:
        trainer._train_step()
    groups: dict[str, float] = dict.fromkeys([*CATEGORIES, "EMA", "other"], 0.0)
    for event in profiler.key_averages():
        name = event.key.lower()
        milliseconds = event.self_cpu_time_total / 1000
        if "lerp" in name:
            groups["EMA"] += milliseconds  # GeneratorEMA.update is the step's only lerp
            continue
        group = next((g for g, keys in CATEGORIES.items() if any(key in name for key in keys)), "other")
        groups[group] += milliseconds
    return {group: round(value, 1) for group, value in groups.items()}


def run(sizes, batches, steps: int, device: str, compiled: bool = False) -> dict:
    from ganlib.train import resolve_precision

    precision = resolve_precision("auto", torch.device(device))
    report = {
        "machine": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        "precision": precision,
        "matmul_fp32_flops": matmul_rate(torch.float32, device),
        "matmul_bf16_flops": matmul_rate(torch.bfloat16, device),
        "rows": [],
    }
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name()
        report["gpu"] = name
        report["datasheet_bf16_flops"] = next((peak for key, peak in GPU_BF16_PEAK.items() if key in name), None)
    for size in sizes:
        per_image = flops_per_image(size, device)
        for batch in batches:
            images = torch.randint(0, 256, (max(512, 4 * batch), 3, size, size), dtype=torch.uint8)
            reference = reference_images_per_second(images, batch, steps)
            ours, _ = ours_images_per_second(size, batch, steps, device, precision)
            row = {
                "image_size": size, "batch": batch, "reference_img_s": round(reference, 1), "ours_img_s": round(ours, 1),
                "ratio": round(ours / reference, 2), "gflop_per_image": round(per_image / 1e9, 3),
                "mfu_vs_fp32_matmul": round(per_image * ours / report["matmul_fp32_flops"], 3),
                "mfu_vs_bf16_matmul": round(per_image * ours / report["matmul_bf16_flops"], 3),
                "reference_mfu_vs_fp32_matmul": round(per_image * reference / report["matmul_fp32_flops"], 3),
            }  # fmt: skip
            if compiled:
                rate, compile_seconds = ours_images_per_second(size, batch, steps, device, precision, compiled=True)
                row.update(compiled_img_s=round(rate, 1), compiled_vs_eager=round(rate / ours, 2),
                           compile_seconds=round(compile_seconds, 1))  # fmt: skip
            if report.get("datasheet_bf16_flops"):
                row["mfu_vs_datasheet_bf16"] = round(per_image * ours / report["datasheet_bf16_flops"], 4)
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
    report["profile_64px_batch64_ms"] = profile_step(64 if 64 in sizes else sizes[0], 64, device, precision)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per measurement, after 2 of warm-up")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", default=None, help="also write the report here")
    parser.add_argument("--compile", action="store_true", help="also time ours with G and D under torch.compile")
    args = parser.parse_args(argv)
    report = run(args.sizes, args.batches, args.steps, args.device, args.compile)
    print(
        f"cpu flags: {' '.join(report['cpu_flags']) or '-'}; {report['threads']} threads; precision {report['precision']}"
    )
    print(f"matmul 2048^2: fp32 {report['matmul_fp32_flops'] / 1e9:.0f} GFLOP/s, "
          f"bf16 {report['matmul_bf16_flops'] / 1e9:.0f} GFLOP/s")  # fmt: skip
    print(
        f"{'size':>4} {'batch':>5} {'reference':>10} {'ours':>8} {'ratio':>6} {'GFLOP/img':>9} {'MFU fp32':>8} {'MFU bf16':>8}"
    )
    for row in report["rows"]:
        print(f"{row['image_size']:>4} {row['batch']:>5} {row['reference_img_s']:>10} {row['ours_img_s']:>8} "
              f"{row['ratio']:>6} {row['gflop_per_image']:>9} {row['mfu_vs_fp32_matmul']:>8} {row['mfu_vs_bf16_matmul']:>8}")  # fmt: skip
    for row in report["rows"] if args.compile else ():
        print(f"{row['image_size']:>4} {row['batch']:>5} torch.compile: {row['compiled_img_s']} img/s, "
              f"{row['compiled_vs_eager']}x eager, compile and warm-up {row['compile_seconds']} s")  # fmt: skip
    print("one step of ours, ms by kind:", report["profile_64px_batch64_ms"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
