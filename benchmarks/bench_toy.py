"""The 1-D teaching GAN: training steps per second with a snapshot (what the page plots) every 5 steps; target >= 20."""

from __future__ import annotations

import time

from .common import Result


def toy_steps_per_second(steps: int = 200) -> list[Result]:
    from ganlib.toy import PRESETS, ToyConfig, ToyGAN

    game = ToyGAN(ToyConfig(preset="two modes" if "two modes" in PRESETS else next(iter(PRESETS))))
    start = time.perf_counter()
    for _ in range(0, steps, 5):
        game.step(5)
        game.snapshot()
    return [
        Result(
            "1-D GAN steps/s with a snapshot every 5 steps",
            steps / (time.perf_counter() - start),
            "steps/s",
            20.0,
            higher_is_better=True,
        )
    ]
