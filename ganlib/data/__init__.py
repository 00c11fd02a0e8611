"""Data sets by name: ``load_dataset("toonfaces" | "digits" | "mnist" | ... | "/path/to/folder", image_size)``.

Every loader returns an ``ImageDataset`` held in memory as uint8; batches are drawn by index with a seeded
torch.Generator, which makes a run resumable to the exact batch without a DataLoader's worker state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import DatasetError, ImageDataset, from_hwc, resize_uint8

BUILTIN = ("toonfaces", "digits")
TORCHVISION = ("mnist", "fashion-mnist", "cifar10", "celeba")
DATASETS = BUILTIN + TORCHVISION


def load_dataset(
    name: str, image_size: int = 64, data_root="data", num_images: int = 30000, seed: int = 0
) -> ImageDataset:
    """A built-in name (see DATASETS) or a path to an image folder. ``num_images`` sets how many toonfaces are
    rendered and caps the others (0 = all)."""
    if name == "toonfaces":
        from .toonfaces import ATTRIBUTES, load_toonfaces

        images, labels = load_toonfaces(n=num_images or 30000, seed=seed, image_size=image_size)
        return ImageDataset(
            "toonfaces",
            from_hwc(images),
            {k: np.asarray(v) for k, v in labels.items()},
            {k: tuple(v) for k, v in ATTRIBUTES.items()},
        )
    if name == "digits":
        from .digits import load_digits

        return load_digits(image_size)
    if name in TORCHVISION:
        from .torchvision_sets import load_torchvision

        return load_torchvision(name, image_size, data_root, max_images=num_images)
    if "/" in name or "\\" in name or Path(name).expanduser().exists():
        from .folder import load_image_folder

        return load_image_folder(name, image_size, max_images=num_images)
    raise DatasetError(f"unknown data set {name!r}: use one of {', '.join(DATASETS)}, or a path to an image folder")


__all__ = ["DATASETS", "DatasetError", "ImageDataset", "load_dataset", "resize_uint8"]
