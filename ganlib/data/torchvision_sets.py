"""torchvision's MNIST, Fashion-MNIST, CIFAR-10 and CelebA, read from --data-root or downloaded when allowed.

No machine of this project reaches the internet, so a missing file set must end in a clear message that says
where to put the files, not in a stack trace from urllib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .dataset import DatasetError, ImageDataset, from_hwc, resize_uint8

MNIST_LIKE = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10)), "digit"),
    "fashion-mnist": (
        "FashionMNIST",
        ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"),
        "item",
    ),
}
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CELEBA_ATTRIBUTES = ("Eyeglasses", "Smiling", "Male", "Young", "Wearing_Hat", "Blond_Hair", "Black_Hair", "Bald")


def _open(name: str, factory, root: Path, **kwargs):
    """Try the local files first, then a download; turn either failure into one clear sentence."""
    try:
        return factory(str(root), download=False, **kwargs)
    except Exception:
        pass
    try:
        return factory(str(root), download=True, **kwargs)
    except Exception as error:
        raise DatasetError(
            f"{name}: files not found under {str(root)!r} and the download failed "
            f"({type(error).__name__}). Put torchvision's {name} files there (e.g. copy the folder "
            f"torchvision creates on a machine with internet access), or pass --data-root."
        ) from None


def load_torchvision(name: str, image_size: int, data_root="data", max_images: int = 0) -> ImageDataset:
    import torchvision.datasets as tv  # imported here: torchvision is slow to import and only these sets need it

    root = Path(data_root).expanduser()
    if name in MNIST_LIKE:
        class_name, classes, attribute = MNIST_LIKE[name]
        data = _open(name, getattr(tv, class_name), root, train=True)
        images, targets = data.data[:, None], np.asarray(data.targets, dtype=np.int64)
        labels, attributes = {attribute: targets}, {attribute: classes}
    elif name == "cifar10":
        data = _open(name, tv.CIFAR10, root, train=True)
        images, targets = from_hwc(data.data), np.asarray(data.targets, dtype=np.int64)
        labels, attributes = {"class": targets}, {"class": CIFAR_CLASSES}
    elif name == "celeba":
        data = _open(name, tv.CelebA, root, split="train", target_type="attr")
        count = min(len(data), max_images or len(data))
        names = list(data.attr_names)
        columns = [names.index(a) for a in CELEBA_ATTRIBUTES if a in names]
        pictures = []
        for index in range(count):  # CelebA is a folder of JPEGs: decode, centre-crop the face, resize
            image, _ = data[index]
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            pictures.append(
                np.asarray(image.crop((left, top, left + side, top + side)).resize((image_size, image_size)))
            )
        images = from_hwc(np.stack(pictures))
        attr = data.attr[:count].numpy().astype(np.int64)
        labels = {names[c].lower(): attr[:, c] for c in columns}
        attributes = {names[c].lower(): ("no", "yes") for c in columns}
    else:
        raise DatasetError(f"unknown torchvision data set {name!r}")
    if max_images:
        images, labels = images[:max_images], {k: v[:max_images] for k, v in labels.items()}
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(images)
    return ImageDataset(name, resize_uint8(images.to(torch.uint8).contiguous(), image_size), labels, attributes)
