"""The minimax game of Goodfellow et al. (2014), written on D's logits.

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

D maximises V: its loss is binary cross-entropy with label 1 for real and 0 for fake, which is exactly -V.
G minimises V. Its "minimax" (saturating) loss is E[log(1 - D(G(z)))]; early in training D rejects fakes
confidently, D(G(z)) ~ 0, where that curve is flat and G learns nothing. The "non-saturating" loss
-E[log D(G(z))] has the same fixed point but strong gradients there (-ln 0.1 = 2.303 vs ln 0.9 = -0.105).

For the optimal D*, V = -log 4 + 2 * JSD(p_data || p_g), so (log 4 + V) / 2 estimates the Jensen-Shannon
divergence. The estimate is only as good as D is close to D*: with a weak D it underestimates.
log D = logsigmoid(logit) and log(1 - D) = logsigmoid(-logit), which stay finite when D saturates.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2 = math.log(2.0)  # the JSD of disjoint distributions; the non-saturating loss_G at equilibrium
LOG_4 = math.log(4.0)  # -V(D, G) at equilibrium


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Monte-Carlo V(D, G) = mean log D(x) + mean log(1 - D(G(z)))."""
    return F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean()


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """BCE with label 1 on real and 0 on fake, summed over the two halves: equals -V(D, G).

    With one-sided label smoothing (Salimans et al. 2016) the real label is 1 - label_smoothing. D's optimum then
    becomes (1 - s) p_data / (p_data + p_g): it can no longer grow its logits without bound on real images, which
    keeps G's gradients alive when D is winning. The loss is then no longer -V; train.py measures V separately."""
    return discriminator_real_loss(real_logits, label_smoothing) + discriminator_fake_loss(fake_logits)


def discriminator_real_loss(real_logits: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """The real half of D's loss: -mean log D(x), against 1 - label_smoothing."""
    return F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1.0 - label_smoothing))


def discriminator_fake_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The fake half of D's loss: -mean log(1 - D(G(z)))."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """G's loss: "non-saturating" -mean log D(G(z)), or "minimax" mean log(1 - D(G(z))) (negative, saturating)."""
    if kind == "non-saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    if kind == "minimax":
        return F.logsigmoid(-fake_logits).mean()
    raise ValueError(f"unknown generator loss {kind!r}; use 'non-saturating' or 'minimax'")


def js_divergence_estimate(value: float) -> float:
    """(log 4 + V) / 2: the Jensen-Shannon divergence in nats, valid when D is near its optimum D*."""
    return (LOG_4 + value) / 2.0
