"""The real images a generator is compared with: its own data set, reloaded from what its metadata says."""

from __future__ import annotations

import numpy as np
import torch

REAL_TOONFACES_SEED = 3  # the GAN trained on seed-0 renders, the classifier on seeds 1 and 2


def _rgb(images: torch.Tensor) -> np.ndarray:
    """uint8 [N, C, H, W] -> [N, H, W, 3], grayscale repeated, as ganlib.images.to_uint8 does for G's output."""
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return images.permute(0, 2, 3, 1).contiguous().numpy()


def real_source(metadata: dict, data: str | None = None) -> tuple[str, str]:
    """(data set name or folder path, data_root) the checkpoint was trained on; ``data`` overrides the name."""
    config = (metadata.get("training") or {}).get("config") or {}
    name = data or config.get("dataset") or (metadata.get("dataset") or {}).get("name") or ""
    return name, config.get("data_root", "data")


def load_real_images(name: str, image_size: int, count: int, seed: int = 0, data_root: str = "data"):
    """Up to ``count`` real images (uint8 [N, H, W, 3], shuffled), their labels and attribute classes."""
    from ..data import TORCHVISION, load_dataset

    try:
        if name == "toonfaces":
            dataset = load_dataset("toonfaces", image_size, num_images=count, seed=REAL_TOONFACES_SEED + seed)
        else:  # folders are sorted by class: load all and shuffle rather than take the first ``count``
            dataset = load_dataset(
                name, image_size, data_root=data_root, num_images=count if name in TORCHVISION else 0
            )
    except ValueError as error:
        raise ValueError(f"cannot load the real images to compare with ({error}); name them with --data") from None
    if dataset.image_size != image_size:
        raise ValueError(f"real images are {dataset.image_size} px, the generator makes {image_size} px")
    order = np.random.default_rng(seed).permutation(len(dataset))[:count]
    labels = {key: np.asarray(values)[order] for key, values in dataset.labels.items()}
    return _rgb(dataset.images[torch.from_numpy(order)]), labels, {k: list(v) for k, v in dataset.attributes.items()}
