"""scikit-learn's 1,797 real 8x8 handwritten digits (UCI), upscaled; a real data set that needs no download."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits as _sklearn_digits

from .dataset import ImageDataset, resize_uint8

ATTRIBUTES = {"digit": tuple(str(d) for d in range(10))}


def load_digits(image_size: int = 32) -> ImageDataset:
    bunch = _sklearn_digits()
    images = (bunch.images * (255.0 / 16.0)).round().astype(np.uint8)  # pixel values are 0..16
    tensor = resize_uint8(torch.from_numpy(images)[:, None], image_size)
    return ImageDataset("digits", tensor, {"digit": bunch.target.astype(np.int64)}, dict(ATTRIBUTES))
