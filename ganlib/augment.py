"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): the same random transforms applied to every image
D sees, real and generated, inside the graph, so G's gradient passes through them.

With few training images (digits has 1,797) D memorises them and its verdicts stop carrying information for G.
Augmenting only the real images would teach G to draw augmented images; augmenting both halves, differentiably,
leaves G's target unchanged while D sees a larger, smoother set. Every draw comes from the trainer's seeded
generator, so a run stays reproducible and resumes exactly.
"""

from __future__ import annotations

import torch

# Policies offered by TrainConfig.augment, each a sequence of the transforms below.
POLICIES = {
    "none": (),
    "translation": ("translation",),
    "translation-cutout": ("translation", "cutout"),
    "color-translation-cutout": ("color", "translation", "cutout"),
}
TRANSLATION_RATIO = 0.125  # shift by up to 1/8 of the side, padding with zeros (the paper's value)
CUTOUT_RATIO = 0.5  # erase one square of half the side


def _uniform(count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(count, 1, 1, 1, generator=generator, device=device)


def _color(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random brightness (±0.5), saturation (×0–2) and contrast (×0.5–1.5), on images in [-1, 1]."""
    n, device = len(images), images.device
    images = images + (_uniform(n, generator, device) - 0.5)
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * (_uniform(n, generator, device) * 2) + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * (_uniform(n, generator, device) + 0.5) + mean


def _translation(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to TRANSLATION_RATIO of its side in x and y, filling with zeros (grey)."""
    n, _, height, width = images.shape
    device = images.device
    shift = int(height * TRANSLATION_RATIO + 0.5)
    dy = torch.randint(-shift, shift + 1, (n, 1, 1), generator=generator, device=device)
    dx = torch.randint(-shift, shift + 1, (n, 1, 1), generator=generator, device=device)
    rows = torch.arange(height, device=device).view(1, height, 1) + dy  # source row of each target pixel
    cols = torch.arange(width, device=device).view(1, 1, width) + dx
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))  # row/col 0 and -1 are the zero fill
    rows = rows.clamp(-1, height).add(1).expand(n, height, width)
    cols = cols.clamp(-1, width).add(1).expand(n, height, width)
    batch = torch.arange(n, device=device).view(n, 1, 1).expand(n, height, width)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Zero one square of CUTOUT_RATIO of the side at a random place in each image."""
    n, _, height, width = images.shape
    device = images.device
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = torch.randint(0, height + (1 - size_y % 2), (n, 1, 1), generator=generator, device=device)
    left = torch.randint(0, width + (1 - size_x % 2), (n, 1, 1), generator=generator, device=device)
    rows = torch.arange(height, device=device).view(1, height, 1) - top + size_y // 2
    cols = torch.arange(width, device=device).view(1, 1, width) - left + size_x // 2
    inside = (rows >= 0) & (rows < size_y) & (cols >= 0) & (cols < size_x)
    return images * (~inside).unsqueeze(1).to(images.dtype)


TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def augment(images: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
    """``images`` [N, C, H, W] through ``policy``'s transforms (differentiable in the images)."""
    if policy not in POLICIES:
        raise ValueError(f"augment must be one of {', '.join(POLICIES)}, got {policy!r}")
    for name in POLICIES[policy]:
        images = TRANSFORMS[name](images, generator)
    return images
