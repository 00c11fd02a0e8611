"""Training throughput (images/s through D) of the DCGAN at 32 and 64 px, batch 64, by precision and threads,
and the rendering time of the 30k-face toonfaces set."""

from __future__ import annotations

import time

import torch

from .common import Result


def _images_per_second(size: int, precision: str, threads: int, steps: int = 8, warmup: int = 2) -> float:
    from ganlib.config import TrainConfig
    from ganlib.data import ImageDataset
    from ganlib.train import Trainer

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        data = ImageDataset("random", torch.randint(0, 256, (256, 3, size, size), dtype=torch.uint8))
        trainer = Trainer(
            TrainConfig(
                dataset="random",
                out="/tmp/ganlib-bench",
                image_size=size,
                batch_size=64,
                precision=precision,
                device="cpu",
            ),
            dataset=data,
        )
        for _ in range(warmup):
            trainer._train_step()
        start = time.perf_counter()
        for _ in range(steps):
            trainer._train_step()
        return steps * 64 / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)


def training_throughput() -> list[Result]:
    from ganlib.devices import cpu_has_fast_bf16

    results = []
    fast_bf16 = cpu_has_fast_bf16()
    for precision in ("fp32", "bf16") if fast_bf16 else ("fp32",):
        label, note = (
            ("fp32", "")
            if precision == "fp32"
            else ("bf16 autocast", "bf16 instructions: ganlib's --precision auto picks bf16 here")
        )
        for size in (32, 64):
            for threads in sorted({1, torch.get_num_threads()}):
                results.append(
                    Result(
                        f"train {size} px {label}, {threads} thread(s)",
                        _images_per_second(size, precision, threads),
                        "img/s",
                        higher_is_better=True,
                        note=note,
                    )
                )
    if not fast_bf16:  # without bf16 instructions, bf16 is emulated and an order of magnitude slower: one step shows it
        results.append(
            Result(
                "train 32 px bf16 autocast, 1 thread",
                _images_per_second(32, "bf16", 1, steps=1, warmup=1),
                "img/s",
                higher_is_better=True,
                note="no AMX/AVX-512 BF16: emulated; auto keeps fp32",
            )
        )
    return results


def toonfaces_render() -> list[Result]:
    from ganlib.data.toonfaces import render_toonfaces

    start = time.perf_counter()
    render_toonfaces(30000, seed=12345, image_size=64)
    return [Result("render 30,000 toonfaces at 64 px", time.perf_counter() - start, "s", 60.0)]
