"""Generator outputs as uint8 arrays, grids, PNG bytes and GIFs (numpy + PIL; no plotting library)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .run_directory import naming


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> uint8 [N, H, W, 3]; grayscale is repeated to RGB so every caller sees one shape."""
    array = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    if array.shape[1] == 1:
        array = array.repeat(1, 3, 1, 1)
    return array.permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def generate(generator: torch.nn.Module, z: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Run G in batches on its own device and return uint8 images [N, H, W, 3]."""
    device = next(generator.parameters()).device
    chunks = [to_uint8(generator(z[i : i + batch_size].to(device))) for i in range(0, len(z), batch_size)]
    size = generator.config.image_size
    return np.concatenate(chunks) if chunks else np.zeros((0, size, size, 3), np.uint8)


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = 2, background: int = 255) -> np.ndarray:
    """Tile uint8 images [N, H, W, 3] into one [rows*(H+p)+p, cols*(W+p)+p, 3] image, row by row."""
    count, height, width = images.shape[:3]
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, 3), background, np.uint8
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of one image [H, W, C] or a batch [N, H, W, C], so that small images stay
    crisp on a projector."""
    return images.repeat(factor, axis=-3).repeat(factor, axis=-2) if factor > 1 else images


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(image: np.ndarray, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with naming(path):  # a full disk shows when PIL flushes, as an error without a file name
        Image.fromarray(image).save(path, format="PNG")
    return path


def gif_bytes(frames: np.ndarray, frame_ms: int = 80, loop: bool = True, boomerang: bool = False) -> bytes:
    """An animated GIF of uint8 frames [N, H, W, 3]; ``boomerang`` plays forward then back."""
    sequence = list(frames) + (list(frames[-2:0:-1]) if boomerang else [])
    pictures = [Image.fromarray(frame) for frame in sequence]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=frame_ms,
        loop=0 if loop else 1,
        optimize=False,
    )
    return buffer.getvalue()
