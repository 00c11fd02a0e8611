"""The in-memory image set every trainer and evaluator consumes, and the error data loaders raise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F


class DatasetError(ValueError):
    """A data set that cannot be loaded; the message says what to do about it."""


@dataclass
class ImageDataset:
    name: str
    images: torch.Tensor  # uint8 [N, C, H, W]; kept as bytes (4x smaller than float) and scaled per batch
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # attribute -> int label per image
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # attribute -> class names, label order
    skipped: int = 0  # files passed over (image folders)
    notes: list[str] = field(default_factory=list)  # what the user should know before training on it

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or self.images.shape[1] not in (1, 3):
            raise DatasetError(
                f"{self.name}: images must be uint8 [N, 1 or 3, H, W], got {self.images.dtype} {tuple(self.images.shape)}"
            )
        if len(self.images) == 0:
            raise DatasetError(f"{self.name}: the data set is empty")
        for attribute, values in self.labels.items():
            if len(values) != len(self.images):
                raise DatasetError(f"{self.name}: {len(values)} labels for {attribute!r} but {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """Float images in [-1, 1] for the given indices, on device."""
        return self.images[index].to(device, non_blocking=True).float().div_(127.5).sub_(1.0)

    def describe(self) -> dict:
        """What a checkpoint records about its training data."""
        return {
            "name": self.name,
            "num_images": len(self),
            "channels": self.channels,
            "attributes": {k: list(v) for k, v in self.attributes.items()},
        }


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Area-average down / bicubic up a uint8 [N, C, H, W] tensor to size x size, in chunks to bound memory."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    mode = "area" if images.shape[-1] > size else "bicubic"
    out = []
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk].float()
        part = F.interpolate(
            part, size=(size, size), mode=mode, **({"align_corners": False} if mode == "bicubic" else {})
        )
        out.append(part.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def from_hwc(images: np.ndarray) -> torch.Tensor:
    """uint8 numpy [N, H, W] or [N, H, W, C] -> torch uint8 [N, C, H, W]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if tensor.dim() == 3:
        tensor = tensor[:, None]
    else:
        tensor = tensor.permute(0, 3, 1, 2)
    return tensor.contiguous()
