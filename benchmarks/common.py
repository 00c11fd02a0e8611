"""Tiny benchmark harness: each benchmark returns Results; run.py prints them with their ratio to the target."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False  # throughput (img/s) vs latency (s)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """>= 1 means the target is met (value/target for throughput, target/value for latency)."""
        if not self.target or not self.value:
            return None
        return self.value / self.target if self.higher_is_better else self.target / self.value


def median_seconds(function, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bundled_checkpoint() -> Path:
    """The dashboard's default model: the benchmarks time what users see."""
    for name in ("toonfaces64.safetensors", "toonfaces32.safetensors"):
        if (ROOT / "checkpoints" / name).is_file():
            return ROOT / "checkpoints" / name
    found = sorted((ROOT / "checkpoints").glob("*.safetensors"))
    if not found:
        raise SystemExit("no bundled checkpoint in checkpoints/")
    return found[0]
