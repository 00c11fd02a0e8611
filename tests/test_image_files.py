"""Pictures for projection (ganlib.image_files): every mode and size becomes the model's square, and what cannot be
read is refused with one line naming it."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ganlib.image_files import MAX_PIXELS, ImageFileError, fit_images, read_image, read_images

RNG = np.random.default_rng(0)
COLOUR = Image.fromarray(RNG.integers(0, 256, (30, 50, 3), dtype=np.uint8))


def _bytes(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def _sixteen_bit() -> Image.Image:
    return Image.fromarray((np.arange(30 * 50).reshape(30, 50) * 40).astype(np.uint16))


@pytest.mark.parametrize(
    "image, format",
    [
        (COLOUR.convert("1"), "PNG"),
        (COLOUR.convert("L"), "PNG"),
        (COLOUR.convert("LA"), "PNG"),
        (COLOUR.convert("P"), "PNG"),
        (COLOUR, "JPEG"),
        (COLOUR.convert("RGBA"), "PNG"),
        (COLOUR.convert("CMYK"), "TIFF"),
        (COLOUR.convert("I"), "TIFF"),
        (COLOUR.convert("F"), "TIFF"),
        (_sixteen_bit(), "PNG"),
        (COLOUR, "GIF"),
        (COLOUR, "BMP"),
        (COLOUR, "WEBP"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.mode,
)
@pytest.mark.parametrize("size, channels", [(32, 3), (64, 1)])
def test_every_mode_becomes_the_models_square(image, format, size, channels):
    array = read_image(_bytes(image, format), size, channels)
    assert array.shape == (size, size, channels) and array.dtype == np.uint8
    assert 20 < array.mean() < 235  # not clipped to black or white (16-bit, I and F are scaled, not clipped)


def test_transparency_is_laid_on_white_and_grey_stays_grey():
    clear = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert (read_image(_bytes(clear), 32, 3) == 255).all()
    grey = Image.new("L", (10, 10), 100)
    assert (read_image(_bytes(grey), 32, 3) == 100).all()


def test_centre_crop_keeps_the_middle_of_a_wide_image():
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = 255  # the middle third is white
    assert read_image(_bytes(Image.fromarray(wide)), 32, 3).mean() > 250


def test_exif_orientation_is_applied():
    tall = np.zeros((40, 20, 3), np.uint8)
    tall[:20] = 255  # white top half
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    data = _bytes(Image.fromarray(tall), "JPEG", exif=exif.tobytes(), quality=95)
    upright = read_image(data, 32, 1)[:, :, 0]  # the centre 20x20 of the turned 20x40 picture
    assert upright[:, :16].mean() < 60 and upright[:, 16:].mean() > 190  # white moved to the right


def _png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims width x height pixels (a decompression bomb's disguise)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"GIF89a not really", "not an image"),
        (b"hello, I am text", "not an image"),
        (_bytes(COLOUR)[:150], "truncated or corrupt"),
        (_png_claiming(8000, 8000), "megapixels"),
        (_png_claiming(100_000, 100_000), "megapixels"),  # beyond PIL's own bomb limit too
    ],
)
def test_what_cannot_be_read_is_refused_with_one_line(data, message):
    with pytest.raises(ImageFileError) as error:
        read_image(data, 32, 3, name="upload.png")
    text = str(error.value)
    assert text.startswith("upload.png: ") and message in text and "\n" not in text
    assert isinstance(error.value, ValueError)


def test_the_pixel_cap_is_the_folder_loaders():
    from ganlib.data.folder import MAX_PIXELS as FOLDER_MAX_PIXELS

    assert MAX_PIXELS == FOLDER_MAX_PIXELS


def test_files_are_named_in_errors(tmp_path):
    with pytest.raises(ImageFileError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png", 32, 3)
    with pytest.raises(ImageFileError, match="not a file"):
        read_image(tmp_path, 32, 3)
    good = tmp_path / "good.png"
    COLOUR.save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ImageFileError, match="bad.png"):
        read_images([good, bad], 32, 3)
    assert read_images([good, good], 32, 3).shape == (2, 32, 32, 3)


def test_arrays_of_any_size_and_channels_are_fitted():
    assert fit_images(np.zeros((2, 10, 20), np.uint8), 32, 3).shape == (2, 32, 32, 3)
    assert fit_images(np.zeros((2, 64, 64, 4), np.uint8), 32, 1).shape == (2, 32, 32, 1)
    same = np.zeros((1, 32, 32, 3), np.uint8)
    assert fit_images(same, 32, 3) is same
    with pytest.raises(ValueError, match="uint8"):
        fit_images(np.zeros((1, 32, 32, 2), np.uint8), 32, 3)
