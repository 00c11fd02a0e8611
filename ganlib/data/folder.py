"""Any folder of images: flat, or with class subfolders whose names become the labels of attribute "class"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .dataset import DatasetError, ImageDataset, from_hwc

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _centre_square(image: Image.Image, size: int) -> Image.Image:
    return ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def load_image_folder(path, image_size: int = 64, max_images: int = 0) -> ImageDataset:
    """Centre-crop and resize every readable image. Grayscale when every image is grayscale, else RGB.
    Unreadable files are skipped and counted in ``dataset.skipped``."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{str(root)!r} is not a folder (and not a built-in data set name)")
    files = _image_files(root)
    if max_images:
        files = files[:max_images]
    if not files:
        raise DatasetError(f"image folder {str(root)!r} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    pictures, classes, skipped = [], [], 0
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                pictures.append(_centre_square(ImageOps.exif_transpose(image), image_size) if image.mode in ("L", "RGB")
                                else _centre_square(image.convert("RGB"), image_size))
        except Exception:  # PIL raises many types for broken files; skipping and counting is the contract
            skipped += 1
            continue
        relative = file.relative_to(root)
        classes.append(relative.parts[0] if len(relative.parts) > 1 else "")
    if not pictures:
        raise DatasetError(f"image folder {str(root)!r}: none of its {len(files)} image files could be read")
    grayscale = all(p.mode == "L" for p in pictures)
    arrays = np.stack([np.asarray(p if grayscale else p.convert("RGB")) for p in pictures])
    labels, attributes = {}, {}
    names = sorted(set(classes))
    if len(names) > 1 or names != [""]:
        names = [n or "(root)" for n in names]
        lookup = {n: i for i, n in enumerate(sorted(set(classes)))}
        labels["class"] = np.array([lookup[c] for c in classes], dtype=np.int64)
        attributes["class"] = tuple(names)
    return ImageDataset(root.name or str(root), from_hwc(arrays), labels, attributes, skipped=skipped)
