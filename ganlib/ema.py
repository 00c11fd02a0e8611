"""An exponential moving average of G's weights, the generator we sample from.

Two details decide whether EMA helps or hurts (both measured in a prototype):
- The decay warms up from 0, min(decay, (1 + t) / (10 + t)): a plain 0.999 EMA averages in the random init
  for thousands of steps and was still a grey blur after 4 minutes of CPU training.
- BatchNorm running statistics are not averaged. They belong to the averaged weights, so before sampling they
  are re-estimated by running the EMA generator on fresh noise; without it the EMA scored worse than raw G.
"""

from __future__ import annotations

import copy

import torch

from .models import Generator

BATCHNORM_BATCHES = 16  # x batch of 64 = 1,024 noise vectors: enough for stable per-channel means/variances


class GeneratorEMA:
    def __init__(self, generator: Generator, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(generator).eval().requires_grad_(False)

    def current_decay(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, generator: Generator, step: int) -> None:
        decay = self.current_decay(step)
        # one call for every tensor instead of a Python loop of small kernels
        torch._foreach_lerp_(list(self.model.parameters()), [p.detach() for p in generator.parameters()], 1.0 - decay)


@torch.no_grad()
def recalibrate_batchnorm(
    generator: Generator, seed: int = 0, batches: int = BATCHNORM_BATCHES, batch_size: int = 64
) -> Generator:
    """A copy of G in eval mode whose BatchNorm statistics are re-measured on its own outputs (seeded noise,
    cumulative average). The original is untouched, so training and its RNG are not disturbed."""
    model = copy.deepcopy(generator)
    device = next(model.parameters()).device
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative moving average over the batches below
    model.train()
    noise = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        model(torch.randn(batch_size, model.config.latent_dim, generator=noise).to(device))
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.1
    return model.eval()
