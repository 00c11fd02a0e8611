"""Training speed against a peer and against the hardware, in one run on the machine at hand.

    python -m benchmarks.bench_speed [--device cpu|cuda|cuda:N] [--sizes 32 64] [--batches 64 256]
                                     [--min-seconds 1] [--json speed.json] [--compile]

For each image size and batch: images/s of ``ganlib``'s trainer and of the pytorch/examples loop
(benchmarks/reference_dcgan.py) on the same device, interleaved so both see the same machine, and their ratio. Each
figure is timed over at least ``--min-seconds`` (1 s: a handful of steps is a few milliseconds on a GPU) and
``--steps`` steps, after 2 of warm-up; ours is timed as the trainer runs, one host sync per 10 steps (its
``--log-every``), the reference with its per-step ``.item()`` calls. Then the FLOPs of one training step per image
(``torch.utils.flop_counter``: G forward, D on real and fake with backward, G's step), and MFU: FLOPs/image x
images/s over a matmul's rate measured in the same run (fp32 and bf16, 2048² on a CPU, 8192² on a GPU) and, on a GPU
whose name is in DATASHEET_PEAKS, over the datasheet's dense peak for the precision trained in. Last, where one step
of ours spends its time (torch.profiler, grouped: convolutions, BatchNorm and activations, optimiser, EMA, data,
host syncs): host time per step, and on a GPU the device's own kernel time per step, so the next gain is chosen by
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
import re
import time
from pathlib import Path

import torch

from .reference_dcgan import reference_images_per_second

# Datasheet dense (no sparsity) peaks in FLOP/s, (bf16 tensor core, fp32), by the exact name torch.cuda reports.
# A name not listed is reported as unknown rather than matched by a substring: "NVIDIA L4" is not an L40S, and the
# H100's SXM, PCIe and NVL boards differ by a third. None: no bf16 tensor cores (bf16 is emulated there).
DATASHEET_PEAKS: dict[str, tuple[float | None, float]] = {
    "NVIDIA H100 80GB HBM3": (989.4e12, 66.9e12),  # H100 SXM5
    "NVIDIA H100 PCIe": (756.5e12, 51.2e12),
    "NVIDIA H100 NVL": (835.5e12, 60.0e12),
    "NVIDIA H200": (989.4e12, 66.9e12),  # H200 SXM: the H100 SXM's compute, more and faster memory
    "NVIDIA H200 NVL": (835.5e12, 60.0e12),
    "NVIDIA A100-SXM4-40GB": (312e12, 19.5e12),  # every A100 board has the same peaks
    "NVIDIA A100-SXM4-80GB": (312e12, 19.5e12),
    "NVIDIA A100-PCIE-40GB": (312e12, 19.5e12),
    "NVIDIA A100 80GB PCIe": (312e12, 19.5e12),
    "NVIDIA A10": (125e12, 31.2e12),
    "NVIDIA L4": (121e12, 30.3e12),
    "NVIDIA L40S": (362.05e12, 91.6e12),
    "NVIDIA GeForce RTX 4090": (165.2e12, 82.6e12),  # bf16 with fp32 accumulate
    "Tesla T4": (None, 8.1e12),
    "Tesla V100-SXM2-16GB": (None, 15.7e12),
    "Tesla V100-SXM2-32GB": (None, 15.7e12),
    "Tesla V100-PCIE-16GB": (None, 14.0e12),
    "Tesla V100-PCIE-32GB": (None, 14.0e12),
    "Tesla V100S-PCIE-32GB": (None, 16.4e12),
}
LOG_EVERY = 10  # the trainer's default --log-every: one host sync per this many steps


def datasheet_peaks(name: str) -> dict[str, float | None] | None:
    """{"bf16": FLOP/s or None, "fp32": FLOP/s} for a GPU name as torch.cuda reports it, None when not listed."""
    peaks = DATASHEET_PEAKS.get(name.strip())
    return None if peaks is None else {"bf16": peaks[0], "fp32": peaks[1]}


def parse_device(text: str) -> str:
    """cpu, mps, cuda or cuda:N, checked against this machine (one line when it cannot be used)."""
    match = re.fullmatch(r"(cpu|mps|cuda)(?::(\d+))?", text)
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise ValueError(f"--device must be cpu, mps, cuda or cuda:N, got {text!r}")
    if match.group(1) == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(match.group(2) or 0)
        if index >= count:
            raise ValueError(f"--device {text}: this machine has {count} CUDA GPU(s)")
        return f"cuda:{index}"
    return text


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return sorted(flag for flag in flags if flag.startswith(("amx", "avx512_bf16", "avx512f", "avx2", "fma")))


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def time_until(run_once, device: str, min_seconds: float, min_calls: int = 1) -> tuple[int, float]:
    """Call ``run_once`` until at least ``min_calls`` calls and ``min_seconds`` have passed (the device synchronised
    before the clock is read); returns (calls, seconds)."""
    _sync(device)
    calls, started = 0, time.perf_counter()
    while True:
        run_once()
        calls += 1
        _sync(device)
        seconds = time.perf_counter() - started
        if calls >= min_calls and seconds >= min_seconds:
            return calls, seconds


def matmul_rate(dtype: torch.dtype, device: str, min_seconds: float = 1.0, size: int | None = None) -> float:
    """FLOP/s of a size x size matmul in ``dtype``, after warm-up, timed over at least ``min_seconds``."""
    size = size or (8192 if device.startswith("cuda") else 2048)
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    a @ b  # warm-up: the first call loads the kernels
    calls, seconds = time_until(lambda: a @ b, device, min_seconds)
    return 2 * size**3 * calls / seconds


def _trainer(size: int, batch: int, device: str, precision: str, compiled: bool = False):
    from ganlib.config import TrainConfig
    from ganlib.data import ImageDataset
    from ganlib.train import Trainer

    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))  # the trainer's "cuda" is the current GPU
    images = torch.randint(0, 256, (max(512, 4 * batch), 3, size, size), dtype=torch.uint8)
    config = TrainConfig(
        dataset="random", out="/tmp/ganlib-bench-speed", image_size=size, batch_size=batch,
        device=device.split(":")[0], precision=precision,
    )  # fmt: skip
    trainer = Trainer(config, dataset=ImageDataset("random", images))
    if compiled:  # the step's modules, as the trainer calls them; the plain ones still own the weights
        trainer.generator_step = torch.compile(trainer.generator)
        trainer.discriminator_step = trainer.discriminator = torch.compile(trainer.discriminator)
    return trainer


def _logging_interval(trainer) -> None:
    """LOG_EVERY steps as Trainer.run takes them: the step's numbers summed on the device, read once at the end."""
    totals = None
    for _ in range(LOG_EVERY):
        values = torch.stack(list(trainer._train_step().values()))
        totals = values if totals is None else totals + values
        trainer.step += 1
    totals.tolist()


def ours_images_per_second(
    size: int, batch: int, steps: int, device: str, precision: str, compiled: bool = False, min_seconds: float = 1.0
) -> tuple[float, float]:
    """Images/s over at least ``steps`` steps and ``min_seconds`` after 2 of warm-up, and the warm-up's seconds
    (with ``compiled``, the compile)."""
    trainer = _trainer(size, batch, device, precision, compiled)
    started = time.perf_counter()
    for _ in range(2):
        trainer._train_step()
        trainer.step += 1
    _sync(device)
    warm_up_seconds = time.perf_counter() - started
    intervals = -(-steps // LOG_EVERY)
    calls, seconds = time_until(lambda: _logging_interval(trainer), device, min_seconds, min_calls=intervals)
    return calls * LOG_EVERY * batch / seconds, warm_up_seconds


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


def _category(name: str) -> str:
    name = name.lower()
    if "lerp" in name:
        return "EMA"  # GeneratorEMA.update is the step's only lerp
    return next((group for group, keys in CATEGORIES.items() if any(key in name for key in keys)), "other")


def _device_time_us(event) -> float:
    """The time of the kernels an operator launched itself, in microseconds (torch before 2.4 names it cuda)."""
    value = getattr(event, "self_device_time_total", None)
    return value if value is not None else getattr(event, "self_cuda_time_total", 0.0)


def profile_step(size: int, batch: int, device: str, precision: str, steps: int = 5) -> dict[str, dict[str, float]]:
    """Milliseconds per step of ours, grouped into CATEGORIES ("other": the rest): the host's self time of each
    operator, and on a GPU the device time of the kernels each operator launched, with the step's wall time."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = device.startswith("cuda")
    trainer = _trainer(size, batch, device, precision)
    for _ in range(2):
        trainer._train_step()
    _sync(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with profile(activities=activities) as profiler:
        started = time.perf_counter()
        for _ in range(steps):
            trainer._train_step()
        _sync(device)
        wall = time.perf_counter() - started
    groups = [*CATEGORIES, "EMA", "other"]
    host, kernels = dict.fromkeys(groups, 0.0), dict.fromkeys(groups, 0.0)
    for event in profiler.key_averages():
        if str(event.device_type).split(".")[-1] != "CPU":
            continue  # a kernel's own row: its time is already its operator's device time
        group = _category(event.key)
        host[group] += event.self_cpu_time_total / 1000 / steps
        kernels[group] += _device_time_us(event) / 1000 / steps
    report = {"wall_ms": round(wall * 1000 / steps, 2), "host_ms": {g: round(v, 2) for g, v in host.items()}}
    if on_gpu:
        report["device_ms"] = {g: round(v, 3) for g, v in kernels.items()}
        report["device_busy_ms"] = round(sum(kernels.values()), 2)
    return report


def run(
    sizes,
    batches,
    steps: int,
    device: str,
    compiled: bool = False,
    min_seconds: float = 1.0,
    profile: bool = True,
    matmul_size: int | None = None,
    profile_batch: int = 64,
) -> dict:
    from ganlib.devices import resolve_precision

    precision = resolve_precision("auto", torch.device(device))
    report = {
        "machine": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        "precision": precision,
        "min_seconds": min_seconds,
        "matmul_fp32_flops": matmul_rate(torch.float32, device, min_seconds, matmul_size),
        "matmul_bf16_flops": matmul_rate(torch.bfloat16, device, min_seconds, matmul_size),
        "rows": [],
    }
    peak = None
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
        peaks = datasheet_peaks(name)
        report["gpu"] = name
        report["datasheet_peak_flops"] = peaks or "unknown"
        peak = (peaks or {}).get(precision)
    for size in sizes:
        per_image = flops_per_image(size, device)
        for batch in batches:
            images = torch.randint(0, 256, (max(512, 4 * batch), 3, size, size), dtype=torch.uint8)
            reference = reference_images_per_second(images, batch, steps, device=device, min_seconds=min_seconds)
            ours, _ = ours_images_per_second(size, batch, steps, device, precision, min_seconds=min_seconds)
            row = {
                "image_size": size, "batch": batch, "reference_img_s": round(reference, 1), "ours_img_s": round(ours, 1),
                "ratio": round(ours / reference, 2), "gflop_per_image": round(per_image / 1e9, 3),
                "mfu_vs_fp32_matmul": round(per_image * ours / report["matmul_fp32_flops"], 3),
                "mfu_vs_bf16_matmul": round(per_image * ours / report["matmul_bf16_flops"], 3),
                "reference_mfu_vs_fp32_matmul": round(per_image * reference / report["matmul_fp32_flops"], 3),
            }  # fmt: skip
            if compiled:
                rate, compile_seconds = ours_images_per_second(
                    size, batch, steps, device, precision, compiled=True, min_seconds=min_seconds
                )
                row.update(compiled_img_s=round(rate, 1), compiled_vs_eager=round(rate / ours, 2),
                           compile_seconds=round(compile_seconds, 1))  # fmt: skip
            if device.startswith("cuda"):
                row[f"mfu_vs_datasheet_{precision}"] = round(per_image * ours / peak, 4) if peak else "unknown"
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
    if profile:
        size = 64 if 64 in sizes else sizes[0]
        report["profile"] = {"image_size": size, "batch": profile_batch}
        report["profile"].update(profile_step(size, profile_batch, device, precision))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=6, help="at least this many timed steps, after 2 of warm-up")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="time each figure over at least this long")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu, cuda, cuda:N")
    parser.add_argument("--json", default=None, help="also write the report here")
    parser.add_argument("--compile", action="store_true", help="also time ours with G and D under torch.compile")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile of one step")
    parser.add_argument(
        "--matmul-size", type=int, default=None, help="side of the peak-rate matmul (2048 CPU, 8192 GPU)"
    )
    args = parser.parse_args(argv)
    try:
        device = parse_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    report = run(
        args.sizes, args.batches, args.steps, device, args.compile, args.min_seconds, not args.no_profile,
        args.matmul_size,
    )  # fmt: skip
    print(
        f"cpu flags: {' '.join(report['cpu_flags']) or '-'}; {report['threads']} threads; precision {report['precision']}"
    )
    if "gpu" in report:
        peaks = report["datasheet_peak_flops"]
        described = (
            "not in DATASHEET_PEAKS (unknown)"
            if peaks == "unknown"
            else ", ".join(f"{k} {v / 1e12:g} TFLOP/s" if v else f"{k} -" for k, v in peaks.items())
        )
        print(f"gpu: {report['gpu']}; datasheet dense peaks: {described}")
    print(f"matmul: fp32 {report['matmul_fp32_flops'] / 1e9:.0f} GFLOP/s, "
          f"bf16 {report['matmul_bf16_flops'] / 1e9:.0f} GFLOP/s")  # fmt: skip
    print(
        f"{'size':>4} {'batch':>5} {'reference':>10} {'ours':>8} {'ratio':>6} {'GFLOP/img':>9} {'MFU fp32':>8} {'MFU bf16':>8}"
    )
    for row in report["rows"]:
        print(f"{row['image_size']:>4} {row['batch']:>5} {row['reference_img_s']:>10} {row['ours_img_s']:>8} "
              f"{row['ratio']:>6} {row['gflop_per_image']:>9} {row['mfu_vs_fp32_matmul']:>8} {row['mfu_vs_bf16_matmul']:>8}"
              + "".join(f"  {k}: {v}" for k, v in row.items() if k.startswith("mfu_vs_datasheet")))  # fmt: skip
    for row in report["rows"] if args.compile else ():
        print(f"{row['image_size']:>4} {row['batch']:>5} torch.compile: {row['compiled_img_s']} img/s, "
              f"{row['compiled_vs_eager']}x eager, compile and warm-up {row['compile_seconds']} s")  # fmt: skip
    if "profile" in report:
        profiled = report["profile"]
        print(
            f"one step of ours ({profiled['image_size']} px, batch {profiled['batch']}): {profiled['wall_ms']} ms wall"
        )
        print("  host ms by kind:", profiled["host_ms"])
        if "device_ms" in profiled:
            print(f"  device ms by kind ({profiled['device_busy_ms']} ms busy):", profiled["device_ms"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
