"""scikit-learn's 1,797 real 8x8 handwritten digits (UCI), upscaled; a real data set that needs no download.

The file ships inside scikit-learn (``sklearn/datasets/data/digits.csv.gz``) and is read from there directly:
importing scikit-learn costs about 2 s, which every training process from the dashboard would pay at start-up.
``sklearn.datasets.load_digits`` is the fallback where the file is not found.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from .dataset import ImageDataset, resize_uint8

ATTRIBUTES = {"digit": tuple(str(d) for d in range(10))}


def _digits_csv() -> Path | None:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def read_digits() -> tuple[np.ndarray, np.ndarray]:
    """(pixel values 0..16 as float [1797, 8, 8], digit labels [1797]), as sklearn's load_digits gives them."""
    path = _digits_csv()
    if path is None:
        from sklearn.datasets import load_digits as sklearn_digits

        bunch = sklearn_digits()
        return bunch.images, bunch.target
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


def load_digits(image_size: int = 32) -> ImageDataset:
    pixels, labels = read_digits()
    images = (pixels * (255.0 / 16.0)).round().astype(np.uint8)  # pixel values are 0..16
    tensor = resize_uint8(torch.from_numpy(images)[:, None], image_size)
    return ImageDataset("digits", tensor, {"digit": labels.astype(np.int64)}, dict(ATTRIBUTES))
