"""Pictures for projection (ganlib.image_files): every mode and size becomes the model's square, and what cannot be
read is refused with one line naming it, before it is decoded where its header says it would be too large."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tracemalloc
import warnings
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


def _png_claiming(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A 60-byte PNG whose header claims width x height pixels (a decompression bomb's disguise); colour type 2 is
    RGB, 6 RGBA, 0 grey (16-bit with depth 16)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
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


def _tiff_claiming(width: int, height: int, sample_format: int) -> bytes:
    """A TIFF header for width x height 32-bit grey pixels (sample format 3: float, "F"; 2: signed integer, "I"),
    and no pixels."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 32), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1)]
    tags += [(278, 4, height), (279, 4, width * height * 4), (339, 3, sample_format)]
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + bytes(4)


@pytest.mark.parametrize(
    "data, message",
    [  # each small on disk; 36 megapixels, under the pixel cap, but 137 MB decoded at 4 bytes a pixel
        (_tiff_claiming(6000, 6000, 3), "6000 x 6000 pixels of mode F take 137 MB decoded, more than the 128 MB"),
        (_tiff_claiming(6000, 6000, 2), "6000 x 6000 pixels of mode I take 137 MB decoded, more than the 128 MB"),
        (_png_claiming(6000, 6000, 8, 6), "6000 x 6000 pixels of mode RGBA take 137 MB decoded"),
        (_png_claiming(39_000_000, 1), "39000000 x 1 pixels, longer than 64:1"),
    ],
    ids=["float TIFF", "int32 TIFF", "RGBA PNG", "39000000x1 PNG"],
)
def test_what_would_decode_too_large_is_refused_from_its_header(data, message):
    """Before, these decoded (the header has no pixels behind it; the real files took +0.8 to +1.1 GB)."""
    with pytest.raises(ImageFileError) as error:
        read_image(data, 64, 3, name="small.file")
    assert str(error.value).startswith(f"small.file: {message}") and "\n" not in str(error.value)


def test_sixteen_bit_grey_fits_the_budget_that_colour_does_not():
    from ganlib.image_files import MAX_DECODED_BYTES, decoded_bytes

    assert decoded_bytes("I;16", 6000, 6000) == 72_000_000 <= MAX_DECODED_BYTES  # 2 bytes a pixel
    assert decoded_bytes("L", 6000, 6000) == decoded_bytes("P", 3000, 6000) // 2 == 36_000_000
    assert decoded_bytes("RGB", 6000, 6000) == decoded_bytes("F", 6000, 6000) == 144_000_000 > MAX_DECODED_BYTES


def test_a_large_jpeg_is_decoded_at_reduced_scale_within_the_budget():
    """36 megapixels of RGB would take 137 MB decoded; a JPEG decodes at 1/8 scale (750 x 750) for a 64 px model."""
    photo = _bytes(Image.new("RGB", (6000, 6000), (120, 30, 200)), "JPEG")
    assert np.abs(read_image(photo, 64, 3).astype(int) - (120, 30, 200)).max() <= 2


@pytest.mark.parametrize(
    "dtype, top, format",
    [(np.uint16, 60000, "PNG"), (np.int32, 60000, "TIFF"), (np.float32, 1.0, "TIFF")],
    ids=["16-bit PNG", "int32 TIFF", "float TIFF"],
)
def test_deep_pictures_are_scaled_without_a_float_copy(dtype, top, format):
    """2000 x 2000 16-bit, int32 and float pictures: scaled to 8 bits in bands. Before, whole-picture float64 copies
    made the traced peak 91 MB (8 bytes a pixel each); now it is 4 to 8 MB (tracemalloc sees numpy's arrays)."""
    side = 2000
    picture = Image.fromarray(np.tile(np.linspace(0, top, side, dtype=np.float32), (side, 1)).astype(dtype))
    data = _bytes(picture, format, **({"compression": "tiff_deflate"} if format == "TIFF" else {}))
    tracemalloc.start()
    try:
        array = read_image(data, 32, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * side * side  # under 3 bytes a pixel
    assert array[:, 0].mean() < 20 and array[:, -1].mean() > 220  # a ramp from black to white, scaled, not clipped


def _eps() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"


@pytest.mark.parametrize("format", ["EPS", "TGA", "PCX", "ICO"])
def test_formats_outside_the_allow_list_are_never_opened(format, monkeypatch):
    """PIL reads EPS by running Ghostscript on it; no plugin but the allowed ones may even parse an upload."""
    from PIL import EpsImagePlugin

    def refuse(*args, **kwargs):
        raise AssertionError("the EPS plugin ran")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", refuse)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse)
    data = _eps() if format == "EPS" else _bytes(COLOUR, format)
    with pytest.raises(ImageFileError) as error:
        read_image(data, 32, 3, name="upload.png")
    assert str(error.value) == "upload.png: not an image that PIL can read as PNG, JPEG, GIF, BMP, TIFF or WebP"


def _turned(mode: str) -> bytes:
    """A 40-tall, 20-wide picture, white above, dark below, whose EXIF says "rotate 90 CW to view"."""
    tall = np.zeros((40, 20), np.uint8)
    tall[:20] = 255
    picture = Image.fromarray(tall.astype(np.uint16) * 257) if mode == "I;16" else Image.fromarray(tall).convert(mode)
    assert picture.mode == mode
    exif = Image.Exif()
    exif[0x0112] = 6
    return _bytes(picture, "PNG", exif=exif.tobytes())


@pytest.mark.parametrize("mode", ["P", "LA", "I;16", "L", "RGBA"])
def test_exif_orientation_is_applied_in_every_mode(mode):
    """Before, palette, LA and 16-bit pictures were left on their side."""
    upright = read_image(_turned(mode), 32, 1)[:, :, 0]  # the centre 20x20 of the turned 20x40 picture
    assert upright[:, :16].mean() < 60 and upright[:, 16:].mean() > 190  # white moved to the right


def test_a_broken_exif_block_leaves_the_picture_readable():
    """Before, an RGB PNG with an unreadable EXIF block was refused as corrupt (and a palette one was not)."""
    data = _bytes(Image.new("RGB", (20, 10), (0, 90, 0)), "PNG", exif=b"Exif\x00\x00garbage")
    assert (read_image(data, 8, 3) == (0, 90, 0)).all()


def test_library_warnings_add_no_lines():
    """100 megapixels is past PIL's DecompressionBombWarning threshold and under its error: one line, no warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageFileError, match="^up.png: 10000 x 10000 pixels, more than the 40 megapixels"):
            read_image(_png_claiming(10_000, 10_000), 32, 3, name="up.png")
    assert caught == []


PEAKS = """
import sys
from ganlib.image_files import ImageFileError, read_image

def kilobytes(field):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field))

for path in sys.argv[1:]:
    open("/proc/self/clear_refs", "w").write("5")  # resets this process's peak resident size (VmHWM)
    before = kilobytes("VmRSS")
    try:
        read_image(path, 64, 3)
    except ImageFileError:
        pass
    print(kilobytes("VmHWM") - before)
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak resident size from /proc")
def test_small_files_that_decode_large_cost_little_memory(tmp_path):
    """The issue's files, 36 megapixels each and 80 to 250 KB on disk: read (16-bit) or refused (the others).
    Before: +825 to +1,108 MB peak each (+447 MB for 39,000,000 x 1); now at most +120 MB."""
    pictures = {
        "sixteen.png": Image.new("I;16", (6000, 6000), 30000),
        "float.tif": Image.new("F", (6000, 6000), 0.5),
        "int32.tif": Image.new("I", (6000, 6000), 1000),
        "rgba.png": Image.new("RGBA", (6000, 6000), (10, 200, 30, 128)),
        "long.png": Image.new("RGB", (39_000_000, 1), (10, 200, 30)),
    }
    for name, picture in pictures.items():
        picture.save(tmp_path / name, **({"compression": "tiff_deflate"} if name.endswith(".tif") else {}))
    del picture, pictures
    paths = [str(tmp_path / name) for name in ("sixteen.png", "float.tif", "int32.tif", "rgba.png", "long.png")]
    run = subprocess.run([sys.executable, "-c", PEAKS, *paths], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    peaks = dict(zip(paths, map(int, run.stdout.split())))
    assert all(peak < 300 * 1024 for peak in peaks.values()), peaks  # kilobytes
