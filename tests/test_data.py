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
        Image.new(mode, size, color=(i * 40) % 255 if mode == "L" else (i * 40 % 255, 10, 200)).save(folder / f"{i}.png")


def test_image_folder_with_class_subfolders(tmp_path):
    _write_images(tmp_path / "cats", 3)
    _write_images(tmp_path / "dogs", 2)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image")
    data = load_dataset(str(tmp_path), image_size=32)
    assert data.images.shape == (5, 3, 32, 32)
    assert data.attributes["class"] == ("cats", "dogs") and data.labels["class"].tolist() == [0, 0, 0, 1, 1]
    assert data.skipped == 1


def test_flat_grayscale_folder(tmp_path):
    _write_images(tmp_path, 4, mode="L")
    data = load_dataset(str(tmp_path), image_size=64)
    assert data.images.shape == (4, 1, 64, 64) and data.labels == {}


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


def test_mnist_from_local_files(tmp_path):
    """Writes MNIST's raw IDX files by hand, as a user who copied them would have them."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (raw / "train-images-idx3-ubyte").write_bytes(np.array([0, 0, 8, 3], np.uint8).tobytes() + np.array([5, 28, 28], ">i4").tobytes() + images.tobytes())
    (raw / "train-labels-idx1-ubyte").write_bytes(np.array([0, 0, 8, 1], np.uint8).tobytes() + np.array([5], ">i4").tobytes() + labels.tobytes())
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes((raw / name.replace("t10k", "train")).read_bytes())
    data = load_dataset("mnist", image_size=32, data_root=str(tmp_path))
    assert data.images.shape == (5, 1, 32, 32) and data.labels["digit"].tolist() == [3, 1, 4, 1, 5]
