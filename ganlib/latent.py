"""Pure tensor functions on latent vectors: sampling by seed, interpolation, concept vectors, directions.

A latent is identified by its seed everywhere: ``latents_for_seeds([7])`` is the same z in the CLI, the
dashboard and the tests, so any picture on screen can be reproduced from its seed.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

INTERPOLATION_METHODS = ("lerp", "slerp")


def latents_for_seeds(seeds: Iterable[int], dim: int) -> torch.Tensor:
    """One z ~ N(0, I) per seed, [len(seeds), dim]; the same seed always gives the same z."""
    seeds = [int(seed) for seed in seeds]
    if any(seed < 0 for seed in seeds):
        raise ValueError("seeds must be non-negative integers")
    if not seeds:
        return torch.empty(0, dim)
    return torch.stack([torch.randn(dim, generator=torch.Generator().manual_seed(seed)) for seed in seeds])


def sample_latents(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    """n latents with consecutive seeds seed, seed+1, ...: tile i of a grid is reproducible from seed + i."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    return latents_for_seeds(range(seed, seed + n), dim)


MAX_SEED = 2**31 - 1  # the seeds the dashboard and its URLs accept; the CLI takes the same range
TRUNCATION_RANGE = (0.0, 1.5)  # psi: 0 is the mean face, 1 is off, above 1 exaggerates


def truncate(z: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick for a zero-mean prior: scale z toward the mean (psi=1 is unchanged, 0 is the mean)."""
    return z * psi


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Straight line a + t (b - a); t may be a 1-D tensor of fractions, giving one row per t."""
    t = torch.as_tensor(t, dtype=a.dtype)
    if t.dim() == 1:
        t = t[:, None]
    return a + t * (b - a)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-4) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GANs) along the great circle from a to b, with
    the norm interpolated linearly. In high dimension z ~ N(0, I) lies near the sphere of radius sqrt(d), and a
    straight line between two samples dips toward the origin, where G rarely saw inputs; slerp does not.
    Near-parallel vectors (angle below eps) fall back to lerp, where the two paths coincide anyway."""
    t = torch.as_tensor(t, dtype=a.dtype)
    if t.dim() == 1:
        t = t[:, None]
    norm_a, norm_b = a.norm(), b.norm()
    if norm_a == 0 or norm_b == 0:
        return lerp(a, b, t)
    unit_a, unit_b = a / norm_a, b / norm_b
    omega = torch.arccos((unit_a * unit_b).sum().clamp(-1.0, 1.0))
    if omega < eps:
        return lerp(a, b, t)
    sin_omega = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b) / sin_omega
    return direction * ((1 - t) * norm_a + t * norm_b)


def interpolation_path(points: torch.Tensor, frames: int, method: str = "slerp") -> torch.Tensor:
    """[frames, d] latents through k >= 2 points [k, d], in order, starting at the first and ending at the last."""
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"method must be one of {INTERPOLATION_METHODS}, got {method!r}")
    if points.dim() != 2 or points.shape[0] < 2:
        raise ValueError("an interpolation path needs at least two points, shaped [k, d]")
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    segments = points.shape[0] - 1
    positions = torch.linspace(0, segments, frames, dtype=points.dtype)
    index = positions.floor().long().clamp(max=segments - 1)
    fraction = positions - index
    step = lerp if method == "lerp" else slerp
    return torch.stack([step(points[i], points[i + 1], float(f)) for i, f in zip(index.tolist(), fraction)])


def concept_vector(exemplars: torch.Tensor) -> torch.Tensor:
    """The mean of k exemplar latents [k, d]. The DCGAN paper averages 3 per concept: single z are unstable."""
    if exemplars.dim() != 2 or exemplars.shape[0] == 0:
        raise ValueError("a concept needs at least one exemplar latent, shaped [k, d]")
    return exemplars.mean(dim=0)


def analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """A - B + C on concept vectors (e.g. smiling woman - neutral woman + neutral man)."""
    return a - b + c


def apply_direction(z: torch.Tensor, direction: torch.Tensor, strength: float | torch.Tensor) -> torch.Tensor:
    """Move z along a direction: z + strength * direction (strength may be per-row, shaped [N])."""
    strength = torch.as_tensor(strength, dtype=z.dtype)
    if strength.dim() == 1:
        strength = strength[:, None]
    return z + strength * direction
