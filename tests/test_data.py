import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib.data import DatasetError, load_dataset


@pytest.mark.parametrize("size", [32, 64])
def test_digits(size):
    data = load_dataset("digits", image_size=size)
    assert data.images.shape == (1797, 1, size, size) and data.images.dtype == torch.uint8
    assert sorted(set(data.labels["digit"].tolist())) == list(range(10))
    batch = data.batch(torch.arange(4))
    assert batch.min() >= -1 and batch.max() <= 1


def test_toonfaces_through_the_registry():
    data = load_dataset("toonfaces", image_size=32, num_images=40)
    assert data.images.shape == (40, 3, 32, 32)
    assert set(data.labels) == set(data.attributes) >= {"sunglasses", "smiling", "hat", "hair", "skin"}
    assert data.describe()["attributes"]["sunglasses"] == ["no", "yes"]


def _write_images(folder, count, size=(40, 30), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new(mode, size, color=(i * 40) % 255 if mode == "L" else (i * 40 % 255, 10, 200)).save(
            folder / f"{i}.png"
        )


def test_image_folder_with_class_subfolders(tmp_path):
    _write_images(tmp_path / "cats", 10)
    _write_images(tmp_path / "dogs", 8)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image")
    data = load_dataset(str(tmp_path), image_size=32)
    assert data.images.shape == (18, 3, 32, 32)
    assert data.attributes["class"] == ("cats", "dogs") and data.labels["class"].tolist() == [0] * 10 + [1] * 8
    assert data.skipped == 1
    assert data.notes[0] == "passed over 1 unreadable"  # said, not silently dropped
    assert "only 18 images" in data.notes[1]


def test_flat_grayscale_folder(tmp_path):
    _write_images(tmp_path, 16, mode="L")
    data = load_dataset(str(tmp_path), image_size=64)
    assert data.images.shape == (16, 1, 64, 64) and data.labels == {}


def test_too_few_images_are_refused_with_the_count(tmp_path):
    _write_images(tmp_path, 1)
    with pytest.raises(DatasetError, match="1 of its 1 image files could be read, and training needs at least 16"):
        load_dataset(str(tmp_path))


def test_oversized_images_are_skipped_before_decoding(tmp_path, monkeypatch):
    from ganlib import image_files

    _write_images(tmp_path, 20, size=(8, 8))
    _write_images(tmp_path / "big", 2, size=(40, 40))
    monkeypatch.setattr(
        image_files, "MAX_PIXELS", 1000
    )  # the folder reader's cap is the uploads' decoder's  # 40 x 40 = 1600 pixels stands in for 13000 x 13000
    data = load_dataset(str(tmp_path), image_size=32)
    assert len(data) == 20 and data.skipped == 2
    assert "passed over 2 larger than 0 megapixels" in data.notes[0]


def _png_claiming(width: int, height: int, colour: int = 2) -> bytes:
    """A PNG header for width x height pixels (colour type 2 RGB, 6 RGBA) with no pixels behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_folder_pictures_have_the_uploads_formats_budget_and_quiet(tmp_path, monkeypatch):
    """The training folder reads with the uploads' decoder: an EPS named .png is never parsed (Ghostscript would run
    on it), and what would decode too large is passed over from its header, with no library warning printed."""
    from PIL import EpsImagePlugin

    ran = []  # the folder reader swallows every error, so calls are recorded rather than raised

    def refuse(*args, **kwargs):
        ran.append(args)
        raise OSError("the EPS plugin ran")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", refuse)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse)
    _write_images(tmp_path, 16, size=(8, 8))
    (tmp_path / "drawing.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    (tmp_path / "rgba.png").write_bytes(_png_claiming(6000, 6000, colour=6))  # 137 MB decoded
    (tmp_path / "long.png").write_bytes(_png_claiming(39_000_000, 1))
    (tmp_path / "bomb.png").write_bytes(_png_claiming(10_000, 10_000))  # past PIL's DecompressionBombWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset(str(tmp_path), image_size=32)
    assert ran == [] and caught == []
    assert len(data) == 16 and data.skipped == 4
    assert data.notes[0] == (
        "passed over 1 larger than 40 megapixels, 1 longer than 64:1, 1 over 128 MB decoded, 1 unreadable"
    )


def _turned(mode: str, index: int) -> Image.Image:
    """A 40-tall, 20-wide picture, bright above, dark below (+ index to make them distinct)."""
    tall = np.full((40, 20), index, np.uint8)
    tall[:20] = 250 - index
    return Image.fromarray(tall.astype(np.uint16) * 257) if mode == "I;16" else Image.fromarray(tall).convert(mode)


@pytest.mark.parametrize("mode", ["P", "LA", "I;16"])
def test_folder_pictures_are_turned_upright_in_every_mode(tmp_path, mode):
    """Before, only L and RGB pictures were turned by their EXIF orientation (and 16-bit grey was clipped white)."""
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    for i in range(16):
        _turned(mode, i).save(tmp_path / f"{i}.png", exif=exif.tobytes())
    images = load_dataset(str(tmp_path), image_size=32).images.float()
    assert images.shape[0] == 16
    assert images[..., :16].mean() < 60 and images[..., 16:].mean() > 190  # bright moved to the right


def test_links_and_system_folders_are_not_followed(tmp_path):
    _write_images(tmp_path / "real", 16)
    (tmp_path / "real" / "link.png").symlink_to(tmp_path / "real" / "0.png")
    data = load_dataset(str(tmp_path / "real"), image_size=32)
    assert len(data) == 16 and "1 links and special files" in data.notes[0]
    with pytest.raises(DatasetError, match="has no images"):
        load_dataset("/proc")  # a PermissionError traceback before


def test_missing_empty_and_unknown(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has no images"):
        load_dataset(str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="unknown data set"):
        load_dataset("imagenet-22k")


def test_offline_torchvision_set_says_where_to_put_files(tmp_path, monkeypatch):
    import torchvision.datasets as tv

    def refuse(*args, download=False, **kwargs):  # what an offline machine does, without waiting on the network
        raise RuntimeError("Dataset not found." if not download else "URLError: network unreachable")

    monkeypatch.setattr(tv, "MNIST", refuse)
    with pytest.raises(DatasetError, match=r"files not found under .*--data-root"):
        load_dataset("mnist", image_size=32, data_root=str(tmp_path))


def _write_idx(raw, images, labels):
    """MNIST-format IDX files (train and t10k), as torchvision's MNIST and FashionMNIST read them."""
    raw.mkdir(parents=True)

    def header(dims):
        return np.array([0, 0, 8, len(dims)], np.uint8).tobytes() + np.array(dims, ">i4").tobytes()

    for split in ("train", "t10k"):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(header(images.shape) + images.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(header(labels.shape) + labels.tobytes())


def test_mnist_from_local_files(tmp_path):
    """Writes MNIST's raw IDX files by hand, as a user who copied them would have them."""
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "MNIST" / "raw", images, np.array([3, 1, 4, 1, 5], dtype=np.uint8))
    data = load_dataset("mnist", image_size=32, data_root=str(tmp_path))
    assert data.images.shape == (5, 1, 32, 32) and data.labels["digit"].tolist() == [3, 1, 4, 1, 5]


def test_fashion_mnist_from_local_files(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "FashionMNIST" / "raw", images, np.array([9, 0, 7, 2], dtype=np.uint8))
    data = load_dataset("fashion-mnist", image_size=32, data_root=str(tmp_path))
    assert data.images.shape == (4, 1, 32, 32) and data.labels["item"].tolist() == [9, 0, 7, 2]
    assert data.attributes["item"][9] == "ankle boot"


def test_cifar10_from_local_files(tmp_path, monkeypatch):
    """CIFAR-10's python batches written by hand; torchvision's md5 check is what fails on them, so it is skipped."""
    import pickle

    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for index in range(1, 6):
        batch = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [index, 9]}
        (folder / f"data_batch_{index}").write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(
        pickle.dumps(
            {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
        )
    )
    first = pickle.loads((folder / "data_batch_1").read_bytes())["data"][0].reshape(3, 32, 32)
    data = load_dataset("cifar10", image_size=32, data_root=str(tmp_path))
    assert data.images.shape == (10, 3, 32, 32) and data.channels == 3
    assert torch.equal(data.images[0], torch.from_numpy(first))  # channels kept in order, no resize at 32 px
    assert data.labels["class"].tolist()[:4] == [1, 9, 2, 9] and data.attributes["class"][9] == "truck"


def test_celeba_from_local_files(tmp_path, monkeypatch):
    """CelebA's aligned JPEGs and attribute lists written by hand (md5 check skipped): faces are centre-cropped,
    resized, and the attributes the explorer measures come through as yes/no labels."""
    import torchvision.datasets as tv

    monkeypatch.setattr(tv.CelebA, "_check_integrity", lambda self: True)
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in (1, 2, 3)]
    for i, name in enumerate(names):  # 178 x 218 like the real files; a bright square marks the centre
        picture = np.full((218, 178, 3), 20 * i, np.uint8)
        picture[89:129, 69:109] = 250
        Image.fromarray(picture).save(folder / "img_align_celeba" / name)
    attributes = ["Eyeglasses", "Smiling", "Male", "Bangs"]
    rows = {
        "list_eval_partition.txt": [f"{n} {s}" for n, s in zip(names, (0, 0, 1))],
        "identity_CelebA.txt": [f"{n} {i}" for i, n in enumerate(names)],
        "list_bbox_celeba.txt": ["3", "image_id x_1 y_1 width height"] + [f"{n} 1 2 3 4" for n in names],
        "list_landmarks_align_celeba.txt": ["3", " ".join(f"p{i}" for i in range(10))]
        + [f"{n} " + " ".join(["1"] * 10) for n in names],
        "list_attr_celeba.txt": ["3", " ".join(attributes)]
        + [f"{names[0]}  1 -1  1 -1", f"{names[1]} -1  1 -1 -1", f"{names[2]}  1  1  1  1"],
    }
    for file_name, lines in rows.items():
        (folder / file_name).write_text("\n".join(lines) + "\n")
    data = load_dataset("celeba", image_size=32, data_root=str(tmp_path))
    assert data.images.shape == (2, 3, 32, 32)  # the train split only
    assert data.labels["eyeglasses"].tolist() == [1, 0] and data.labels["smiling"].tolist() == [0, 1]
    assert "bangs" not in data.labels and data.attributes["male"] == ("no", "yes")
    assert data.images[0, :, 16, 16].min() > 200 and data.images[0, :, 1, 1].max() < 40  # centre square, dark corner


def test_digits_are_read_from_sklearns_file_without_importing_sklearn():
    import subprocess
    import sys

    code = "import sys; from ganlib.data.digits import read_digits; read_digits(); print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    from sklearn.datasets import load_digits as sklearn_digits

    from ganlib.data.digits import read_digits

    pixels, labels = read_digits()
    bunch = sklearn_digits()
    assert np.array_equal(pixels, bunch.images) and np.array_equal(labels, bunch.target)
