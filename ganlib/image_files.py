"""Pictures from users for projection (ganlib.inversion): any size and mode in, the model's square out.

A file or bytes of any format PIL reads, in any mode (1, L, LA, P, RGB, RGBA, CMYK, I;16, I, F, ...) becomes a
uint8 array [size, size, channels]: the first frame, turned upright by its EXIF orientation, transparency laid on
white, 16-bit and float pixels scaled to 8 bits, converted to grey or RGB as the model wants, centre-cropped to a
square and resized (Lanczos). What cannot be read raises ``ImageFileError`` with one line naming the file: not an
image, truncated or corrupt, or more pixels than ``MAX_PIXELS`` (checked from the header, before decoding).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .data.folder import MAX_PIXELS

MAX_FILE_BYTES = 64 << 20  # a photo is a few MB; beyond this the file is not one picture to project
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class ImageFileError(ValueError):
    """A picture that cannot be used; the message is one line naming it."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")
        self.problem = problem


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float grey as 8-bit "L" (PIL's own conversion clips them to 0..255 instead)."""
    values = np.nan_to_num(np.asarray(image, dtype=np.float64))
    top = values.max() if values.size else 0.0
    if image.mode != "F" and (image.mode != "I" or top > 255):
        values = values / 257.0  # 16-bit 0..65535 -> 0..255
    elif image.mode == "F" and top <= 1.0:  # float images in 0..1
        values = values * 255.0
    return Image.fromarray(values.clip(0, 255).round().astype(np.uint8))


def _on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited over white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def to_model_image(image: Image.Image, size: int, channels: int) -> np.ndarray:
    """A decoded PIL image -> uint8 [size, size, channels]: mode conversion, centre crop, resize."""
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        image = _eight_bit(image)
    image = _on_white(image)
    if channels == 1:
        image = image.convert("L")
    square = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    array = np.asarray(square, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def read_image(source, size: int, channels: int, name: str | None = None) -> np.ndarray:
    """A file path or bytes -> uint8 [size, size, channels]. ImageFileError for what cannot be read."""
    if isinstance(source, (bytes, bytearray)):
        name = name or "the image"
        data = bytes(source)
    else:
        path = Path(source).expanduser()
        name = name or str(source)
        if not path.is_file():
            raise ImageFileError(name, "no such file" if not path.exists() else "not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageFileError(name, f"the file is larger than {MAX_FILE_BYTES >> 20} MB")
        data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ImageFileError(name, f"the file is larger than {MAX_FILE_BYTES >> 20} MB")
    if not data:
        raise ImageFileError(name, "the file is empty")
    try:
        with warnings.catch_warnings():  # PIL warns, then raises, above its own, larger pixel limits
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size  # from the header: nothing is decoded yet
            if width * height > MAX_PIXELS:
                raise ImageFileError(
                    name, f"{width} x {height} pixels, more than the {MAX_PIXELS // 1_000_000} megapixels allowed"
                )
            if width < 1 or height < 1:
                raise ImageFileError(name, f"{width} x {height} pixels: nothing to project")
            image.load()
            # a copy outlives the file's closing (a closed PIL image refuses every operation)
            upright = ImageOps.exif_transpose(image) if image.mode in ("L", "RGB", "RGBA", "CMYK") else image.copy()
    except ImageFileError:
        raise
    except UnidentifiedImageError:
        raise ImageFileError(name, "not an image that PIL can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFileError(name, f"more than the {MAX_PIXELS // 1_000_000} megapixels allowed") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # PIL's errors for broken files
        raise ImageFileError(name, f"truncated or corrupt ({str(error)[:80] or type(error).__name__})") from None
    try:
        return to_model_image(upright, size, channels)
    except (OSError, ValueError) as error:
        raise ImageFileError(name, f"its mode {upright.mode} cannot be converted ({str(error)[:80]})") from None


def read_images(sources, size: int, channels: int) -> np.ndarray:
    """Several files -> uint8 [N, size, size, channels]; the first unreadable one raises ImageFileError."""
    sources = list(sources)
    if not sources:
        raise ValueError("no images given")
    return np.stack([read_image(source, size, channels) for source in sources])


def fit_images(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """uint8 arrays [N, H, W] or [N, H, W, C] (C = 1, 3 or 4) of any size -> uint8 [N, size, size, channels]."""
    images = np.asarray(images)
    if (
        images.dtype != np.uint8
        or images.ndim not in (3, 4)
        or (images.ndim == 4 and images.shape[-1] not in (1, 3, 4))
    ):
        raise ValueError(f"expected uint8 images [N, H, W] or [N, H, W, 1|3|4], got {images.dtype} {images.shape}")
    if images.ndim == 4 and images.shape[-1] == channels and images.shape[1:3] == (size, size):
        return images
    pictures = []
    for array in images:
        array = array[:, :, 0] if array.ndim == 3 and array.shape[-1] == 1 else array
        pictures.append(to_model_image(Image.fromarray(np.ascontiguousarray(array)), size, channels))
    return np.stack(pictures) if pictures else np.zeros((0, size, size, channels), np.uint8)
