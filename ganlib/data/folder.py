"""Any folder of images: flat, or with class subfolders whose names become the labels of attribute "class".

Folders come from users, and sometimes from a typo (``/proc``) or a stranger's download: scanning never follows
symbolic links, unreadable subfolders and files are skipped and counted, images too large to decode safely are
skipped before decoding, and what was skipped, and why, is reported in ``ImageDataset.notes``. Pictures are read by
``ganlib.image_files``, the uploads' decoder: the same formats, header checks and memory budget, upright by EXIF.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from ..image_files import MAX_PIXELS as MAX_PIXELS
from ..image_files import ImageFileError, decode_square
from .dataset import DatasetError, ImageDataset, from_hwc

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")  # image_files.ALLOWED_FORMATS
MAX_FILES = 500_000  # files looked at while scanning, so that pointing at / answers in seconds
MIN_IMAGES = 16  # fewer cannot fill a batch of distinct images: refused
FEW_IMAGES = 500  # fewer trains, but G will mostly memorise them: a note says so


def scan_image_folder(path) -> tuple[list[Path], Counter]:
    """The image files under ``path`` (sorted) and the count of what was passed over, by reason. Decodes nothing.
    Raises DatasetError for a missing, unreadable or image-less folder."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{str(root)!r} is not a folder (and not a built-in data set name)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetError(f"image folder {str(root)!r} cannot be read (permission denied)")
    files, passed_over, seen = [], Counter(), 0

    def unreadable(_error: OSError) -> None:
        passed_over["unreadable folders"] += 1

    for folder, subfolders, names in os.walk(root, onerror=unreadable, followlinks=False):
        subfolders.sort()
        for name in names:
            seen += 1
            if seen > MAX_FILES:
                raise DatasetError(
                    f"image folder {str(root)!r} holds more than {MAX_FILES:,} files; point at the "
                    "folder of images itself"
                )
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                file = Path(folder) / name
                if file.is_symlink() or not file.is_file():
                    passed_over["links and special files"] += 1
                else:
                    files.append(file)
    if not files:
        raise DatasetError(f"image folder {str(root)!r} has no images ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(files), passed_over


def _read(file: Path, image_size: int) -> Image.Image | str:
    """The upright centre square ("L" for a grey picture, else "RGB"), or the reason the file is passed over."""
    try:
        return decode_square(file, image_size, name=str(file))
    except ImageFileError as error:
        return error.reason
    except Exception:  # PIL raises many types for broken files; skipping and counting is the contract
        return "unreadable"


def describe_skipped(passed_over: Counter) -> str:
    return ", ".join(f"{count:,} {reason}" for reason, count in sorted(passed_over.items()))


def load_image_folder(path, image_size: int = 64, max_images: int = 0) -> ImageDataset:
    """Centre-crop and resize every readable image. Grayscale when every image is grayscale, else RGB.
    What was passed over is counted in ``dataset.skipped`` and explained in ``dataset.notes``."""
    root = Path(path).expanduser()
    files, passed_over = scan_image_folder(root)
    if max_images:
        files = files[:max_images]
    pictures, classes = [], []
    for file in files:
        picture = _read(file, image_size)
        if isinstance(picture, str):
            passed_over[picture] += 1
            continue
        pictures.append(picture)
        relative = file.relative_to(root)
        classes.append(relative.parts[0] if len(relative.parts) > 1 else "")
    if len(pictures) < MIN_IMAGES:
        detail = f"; passed over {describe_skipped(passed_over)}" if passed_over else ""
        raise DatasetError(
            f"image folder {str(root)!r}: {len(pictures)} of its {len(files)} image files could be "
            f"read, and training needs at least {MIN_IMAGES}{detail}"
        )
    notes = []
    if passed_over:
        notes.append(f"passed over {describe_skipped(passed_over)}")
    if len(pictures) < FEW_IMAGES:
        notes.append(f"only {len(pictures)} images: a GAN needs thousands, and with this few G mostly memorises them")
    grayscale = all(p.mode == "L" for p in pictures)
    arrays = np.stack([np.asarray(p if grayscale else p.convert("RGB")) for p in pictures])
    labels, attributes = {}, {}
    names = sorted(set(classes))
    if len(names) > 1 or names != [""]:
        lookup = {n: i for i, n in enumerate(names)}
        labels["class"] = np.array([lookup[c] for c in classes], dtype=np.int64)
        attributes["class"] = tuple(n or "(root)" for n in names)
    return ImageDataset(
        root.name or str(root), from_hwc(arrays), labels, attributes, skipped=sum(passed_over.values()), notes=notes
    )
