"""Pictures from files and uploads: the one decoder behind projection (ganlib.inversion) and training folders
(ganlib.data.folder). Any size and mode in, the model's square out.

A PNG, JPEG, GIF, BMP, TIFF or WebP file, in any mode (1, L, LA, P, RGB, RGBA, CMYK, I;16, I, F, ...), becomes an
upright 8-bit square: the first frame, 16-bit and float pixels scaled to 8 bits, centre-cropped and resized
(Lanczos), transparency laid on white, turned by its EXIF orientation, grey or RGB as the model wants. Other
formats are never opened (EPS would run Ghostscript). Before anything is decoded the header must show at most
``MAX_PIXELS`` pixels, a shape within ``MAX_ASPECT``:1 and a decoded size within ``MAX_DECODED_BYTES``, counted
from the mode's bands and bit depth: a 75 KB PNG can hold 36 megapixels of 16-bit grey. What cannot be used raises
``ImageFileError`` with one line naming the file.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageMode, ImageOps, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile

# the formats the uploader and the folder scan accept; PIL knows dozens more, some of which run programs (EPS)
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
FORMAT_NAMES = "PNG, JPEG, GIF, BMP, TIFF or WebP"
MAX_FILE_BYTES = 64 << 20  # a photo is a few MB; beyond this the file is not one picture to project
MAX_PIXELS = 40_000_000  # about 6300 x 6300: beyond this an image is a decompression bomb or far more than 128 px need
# What the largest array of one decode may take. PIL holds RGB, RGBA and float pixels in 4 bytes, so this admits a
# 32-megapixel colour or float picture, the 40-megapixel cap in 8 or 16-bit grey, and any JPEG under the cap (it is
# decoded at 1/2 to 1/8 scale). A decode holds at most about two such arrays (the picture and one converted copy),
# so one upload or folder file costs at most about 256 MB, whatever its size on disk.
MAX_DECODED_BYTES = 128 << 20
MAX_ASPECT = 64  # a centre square is taken anyway; a 39,000,000 x 1 picture has nothing to show in it
CHUNK_PIXELS = 1 << 18  # 16-bit and float pixels are scaled this many at a time (a megabyte in float32)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ORIENTATION = 0x0112  # the EXIF tag; the turns below are ImageOps.exif_transpose's
TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageFileError(ValueError):
    """A picture that cannot be used; the message is one line naming it. ``reason`` says why without this file's
    figures, so that a folder can count the files it passed over by reason."""

    def __init__(self, name: str, problem: str, reason: str = "unreadable"):
        super().__init__(f"{name}: {problem}")
        self.problem = problem
        self.reason = reason


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """The bytes of the largest array decoding and converting a picture holds: PIL keeps one-band pixels in their
    own width (1 byte, 2 for 16-bit, 4 for 32-bit and float) and every several-band mode in 4 bytes; a palette
    picture becomes RGB(A), 4 bytes a pixel."""
    info = ImageMode.getmode(mode)
    single = len(info.bands) == 1 and info.basemode != "P"
    return width * height * (np.dtype(info.typestr).itemsize if single else 4)


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float grey as 8-bit "L" (PIL's own conversion clips them to 0..255 instead).
    Scaled in bands of ``CHUNK_PIXELS``, integers through a table, so that no float copy of the picture is made."""
    width, height = image.size
    rows = max(1, CHUNK_PIXELS // width)
    bands = [(0, top, width, min(top + rows, height)) for top in range(0, height, rows)]
    floats = image.mode == "F"

    def values(band):
        array = np.asarray(image.crop(band))
        return np.nan_to_num(array.astype(np.float32), copy=False) if floats else array

    top = max(float(values(band).max()) for band in bands)
    grey = np.empty((height, width), np.uint8)
    if not floats and (image.mode != "I" or top > 255):  # 16-bit 0..65535 -> 0..255, rounded
        table = np.round(np.arange(65536) / 257.0).astype(np.uint8)
        for band in bands:
            grey[band[1] : band[3]] = table[np.clip(values(band), 0, 65535)]
        return Image.fromarray(grey)
    scale = np.float32(255.0 if floats and top <= 1.0 else 1.0)  # float images in 0..1 are stretched
    for band in bands:
        part = values(band) if floats else values(band).astype(np.float32)
        part *= scale
        grey[band[1] : band[3]] = np.rint(np.clip(part, 0, 255, out=part), out=part)
    return Image.fromarray(grey)


def _square(image: Image.Image, size: int, channels: int | None) -> Image.Image:
    """A decoded picture -> "L" or "RGB" [size, size] (channels 1 or 3; None keeps a grey picture grey).
    The crop and resize come before compositing and colour conversion, which then touch size x size pixels."""
    if image.mode in SIXTEEN_BIT_MODES or image.mode == "F":
        image = _eight_bit(image)
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, ...
        image = image.convert("RGB")
    grey = image.mode in ("L", "LA")
    # for LA and RGBA PIL resizes premultiplied colour, so laying the result on white is laying the picture on white
    square = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    if square.mode in ("LA", "RGBA"):
        background = Image.new("RGBA", square.size, (255, 255, 255, 255))
        square = Image.alpha_composite(background, square.convert("RGBA"))
    return square.convert("L" if channels == 1 or (channels is None and grey) else "RGB")


def to_model_image(image: Image.Image, size: int, channels: int) -> np.ndarray:
    """A decoded PIL image -> uint8 [size, size, channels]: mode conversion, centre crop, resize."""
    array = np.asarray(_square(image, size, channels), dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def _check_header(image: Image.Image, name: str, size: int) -> None:
    """Refuse, from the header alone, what would be too large to decode; JPEGs are set to decode at reduced scale."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageFileError(
            name,
            f"{width} x {height} pixels, more than the {MAX_PIXELS // 1_000_000} megapixels allowed",
            reason=f"larger than {MAX_PIXELS // 1_000_000} megapixels",
        )
    if width < 1 or height < 1:
        raise ImageFileError(name, f"{width} x {height} pixels: nothing to use")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageFileError(
            name,
            f"{width} x {height} pixels, longer than {MAX_ASPECT}:1; the model takes the centre square",
            reason=f"longer than {MAX_ASPECT}:1",
        )
    if isinstance(image, JpegImageFile):
        image.draft(None, (size, size))  # the decoder scales by 1/2, 1/4 or 1/8, keeping the short side >= size
        width, height = image.size
    needed = decoded_bytes(image.mode, width, height)
    if needed > MAX_DECODED_BYTES:
        raise ImageFileError(
            name,
            f"{width} x {height} pixels of mode {image.mode} take {needed >> 20} MB decoded, more than the "
            f"{MAX_DECODED_BYTES >> 20} MB allowed",
            reason=f"over {MAX_DECODED_BYTES >> 20} MB decoded",
        )


def _turn(image: Image.Image) -> Image.Transpose | None:
    """The turn its EXIF orientation asks for. A turn commutes with a centre crop and a resize, so it is made on the
    small square, in any mode."""
    try:
        return TURNS.get(image.getexif().get(ORIENTATION))
    except Exception:  # a broken EXIF block (PIL raises several types) leaves readable pixels as they are
        return None


def decode_square(file, size: int, channels: int | None = None, name: str = "the image") -> Image.Image:
    """A path or binary file -> upright "L" or "RGB" [size, size] (see ``_square``). ImageFileError, one line
    naming ``name``, for what cannot be used."""
    try:
        # PIL's warnings (DecompressionBombWarning, corrupt EXIF) would add lines to a one-line error; the filter is
        # narrowed to them because catch_warnings is process-wide, and sessions decode in threads
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file, formats=ALLOWED_FORMATS) as image:
                _check_header(image, name, size)
                image.load()
                turn = _turn(image)
                try:
                    square = _square(image, size, channels)
                except (OSError, ValueError) as error:
                    raise ImageFileError(
                        name, f"its mode {image.mode} cannot be converted ({str(error)[:80]})"
                    ) from None
    except ImageFileError:
        raise
    except UnidentifiedImageError:
        raise ImageFileError(name, f"not an image that PIL can read as {FORMAT_NAMES}") from None
    except Image.DecompressionBombError:
        raise ImageFileError(
            name,
            f"more than the {MAX_PIXELS // 1_000_000} megapixels allowed",
            reason=f"larger than {MAX_PIXELS // 1_000_000} megapixels",
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # PIL's errors for broken files
        raise ImageFileError(name, f"truncated or corrupt ({str(error)[:80] or type(error).__name__})") from None
    return square.transpose(turn) if turn is not None else square


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
    array = np.asarray(decode_square(io.BytesIO(data), size, channels, name), dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


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
