"""Tests for the procedural ToonFaces data set (ganlib.data.toonfaces)."""

import os

import numpy as np
import pytest

from ganlib.data import toonfaces as tf
from ganlib.data.toonfaces import ATTRIBUTES, load_toonfaces, render_toonfaces

BINARY = ("sunglasses", "smiling", "hat")


@pytest.fixture(scope="module")
def faces():
    """2000 faces at the native size, shared by the statistical tests (~1 s)."""
    return render_toonfaces(2000, seed=0, image_size=64)


def test_attributes_exact():
    assert ATTRIBUTES == {
        "sunglasses": ("no", "yes"),
        "smiling": ("no", "yes"),
        "hat": ("no", "yes"),
        "hair": ("black", "brown", "blond", "red"),
        "skin": ("light", "medium", "dark"),
    }


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_and_dtypes(size):
    x, labels = render_toonfaces(6, seed=3, image_size=size)
    assert x.shape == (6, size, size, 3)
    assert x.dtype == np.uint8
    assert list(labels) == list(ATTRIBUTES)
    for v in labels.values():
        assert v.shape == (6,) and v.dtype == np.int64
    # Not blank: every image has a real range of colours.
    assert all(img.std() > 20 for img in x)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_same_faces_at_every_size(size):
    # Labels are size-independent, and a downscaled image matches the 32-px one.
    _, l64 = render_toonfaces(8, seed=5, image_size=64)
    x, labels = render_toonfaces(8, seed=5, image_size=size)
    x32, _ = render_toonfaces(8, seed=5, image_size=32)
    for a in ATTRIBUTES:
        np.testing.assert_array_equal(labels[a], l64[a])
    f = size // 32
    small = x.astype(np.float32).reshape(8, 32, f, 32, f, 3).mean((2, 4))
    assert np.abs(small - x32.astype(np.float32)).mean() < 12


def test_deterministic_and_prefix():
    x1, l1 = render_toonfaces(40, seed=7)
    x2, l2 = render_toonfaces(40, seed=7)
    np.testing.assert_array_equal(x1, x2)
    xp, lp = render_toonfaces(16, seed=7)
    np.testing.assert_array_equal(x1[:16], xp)
    for a in ATTRIBUTES:
        np.testing.assert_array_equal(l1[a], l2[a])
        np.testing.assert_array_equal(l1[a][:16], lp[a])
    # Another seed gives other faces.
    x3, _ = render_toonfaces(16, seed=8)
    assert (x3 != xp).any(axis=(1, 2, 3)).all()


def test_faces_differ_within_a_set():
    x, _ = render_toonfaces(32, seed=0)
    flat = x.reshape(32, -1)
    assert len({row.tobytes() for row in flat}) == 32


def test_label_ranges(faces):
    _, labels = faces
    for a, classes in ATTRIBUTES.items():
        v = labels[a]
        assert v.min() >= 0 and v.max() < len(classes)
        # every class occurs
        assert set(np.unique(v)) == set(range(len(classes)))


def test_attribute_frequencies(faces):
    _, labels = faces
    # Tolerances ~4 standard errors at n=2000.
    assert abs(labels["sunglasses"].mean() - 0.30) < 0.04
    assert abs(labels["smiling"].mean() - 0.50) < 0.045
    assert 0.22 < labels["hat"].mean() < 0.33
    for a in ("hair", "skin"):
        k = len(ATTRIBUTES[a])
        freq = np.bincount(labels[a], minlength=k) / len(labels[a])
        assert np.abs(freq - 1 / k).max() < 0.045, (a, freq)


def test_attributes_independent(faces):
    _, labels = faces
    names = list(ATTRIBUTES)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            # Joint frequency of (class 0 of a, class 0 of b) vs product of
            # marginals, and the same for class 1 / class 1.
            for ca, cb in ((0, 0), (1, 1)):
                pa = (labels[a] == ca).mean()
                pb = (labels[b] == cb).mean()
                pab = ((labels[a] == ca) & (labels[b] == cb)).mean()
                assert abs(pab - pa * pb) < 0.035, (a, b, ca, cb)


def test_sunglasses_darken_eye_region(faces):
    x, labels = faces
    gray = x.astype(np.float32).mean(-1)
    eye = gray[:, 27:38, 18:46].mean(axis=(1, 2))
    g = labels["sunglasses"] == 1
    # Within every skin tone, so dark skin is not what makes the difference.
    for skin in range(len(ATTRIBUTES["skin"])):
        m = labels["skin"] == skin
        assert eye[m & g].mean() < eye[m & ~g].mean() - 15, skin
    assert eye[g].mean() < 0.7 * eye[~g].mean()


def test_mouth_region_differs_with_smile(faces):
    x, labels = faces
    s = labels["smiling"] == 1
    diff = np.abs(x[s].astype(np.float32).mean(0) - x[~s].astype(np.float32).mean(0))
    diff = diff.mean(-1)
    mouth = diff[42:54, 20:44].mean()
    eyes = diff[27:38, 18:46].mean()
    assert mouth > 3 * eyes, (mouth, eyes)


def test_hat_fills_top_region(faces):
    x, labels = faces
    # The corner is always background; count top-band pixels unlike it.
    top = x[:, 1:11].astype(np.int32)
    corner = x[:, :1, :1].astype(np.int32)
    frac = (np.abs(top - corner).sum(-1) > 40).mean(axis=(1, 2))
    h = labels["hat"] == 1
    assert frac[h].mean() > 0.12
    assert frac[~h].mean() < 0.02
    assert frac[h].mean() > 10 * frac[~h].mean()


def _draw(p):
    return np.asarray(tf._draw_face(p, 2.0).reduce(2)).astype(np.int32)


@pytest.mark.parametrize("attr", BINARY)
def test_toggling_an_attribute_changes_only_its_region(attr):
    """Same face with one attribute flipped: the change is large and local.

    This is the property latent arithmetic relies on ("add sunglasses"
    should change the eyes, not the hair).
    """
    for i in range(24):
        p = tf._sample(np.random.default_rng([0, i]))
        q = dict(p, **{attr: 1 - p[attr]})
        changed = np.abs(_draw(p) - _draw(q)).sum(-1) > 60
        rows, cols = np.nonzero(changed)
        cy, cx = p["cy"], p["cx"]
        if attr == "smiling":
            assert changed.sum() >= 20
            assert rows.min() >= cy + 2 and rows.max() <= cy + 17
            assert cols.min() >= cx - 13 and cols.max() <= cx + 13
        elif attr == "sunglasses":
            assert changed.sum() >= 80
            assert rows.min() >= cy - 11 and rows.max() <= cy + 7
        else:  # hat: large, on top of the head, crown inside the frame
            assert changed.sum() >= 250
            assert rows.max() <= cy - 2
            assert not changed[0].any()


def test_eyes_visible_without_sunglasses():
    # Bare eyes contain both near-white (sclera) and near-black (pupil).
    for i in range(20):
        p = tf._sample(np.random.default_rng([1, i]))
        p["sunglasses"] = 0
        img = _draw(p)
        y = int(round(p["cy"]))
        band = img[y - 9 : y + 6].min(-1), img[y - 9 : y + 6].max(-1)
        assert (band[0] > 200).sum() >= 20  # white of the eyes
        assert (band[1] < 60).sum() >= 6  # pupils


def test_cache_round_trip(tmp_path, monkeypatch):
    x, labels = load_toonfaces(50, seed=2, image_size=32, cache_dir=str(tmp_path))
    rx, rl = render_toonfaces(50, seed=2, image_size=32)
    np.testing.assert_array_equal(x, rx)
    for a in ATTRIBUTES:
        np.testing.assert_array_equal(labels[a], rl[a])
        assert labels[a].dtype == np.int64
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".npz")

    # The second call must come from disk, not from the renderer.
    def boom(*a, **k):
        raise AssertionError("re-rendered despite a valid cache")

    monkeypatch.setattr(tf, "render_toonfaces", boom)
    x2, l2 = load_toonfaces(50, seed=2, image_size=32, cache_dir=str(tmp_path))
    np.testing.assert_array_equal(x2, rx)
    for a in ATTRIBUTES:
        np.testing.assert_array_equal(l2[a], rl[a])


def test_cache_key_separates_arguments(tmp_path):
    load_toonfaces(10, seed=0, image_size=32, cache_dir=str(tmp_path))
    load_toonfaces(10, seed=1, image_size=32, cache_dir=str(tmp_path))
    load_toonfaces(12, seed=0, image_size=32, cache_dir=str(tmp_path))
    x, _ = load_toonfaces(10, seed=0, image_size=64, cache_dir=str(tmp_path))
    assert x.shape == (10, 64, 64, 3)
    assert len(os.listdir(tmp_path)) == 4


@pytest.mark.parametrize("garbage", [b"", b"not a zip file", b"PK\x03\x04" + b"\0" * 64])
def test_corrupt_cache_is_rerendered(tmp_path, garbage):
    x, _ = load_toonfaces(20, seed=4, image_size=32, cache_dir=str(tmp_path))
    (path,) = [tmp_path / f for f in os.listdir(tmp_path)]
    path.write_bytes(garbage)
    y, labels = load_toonfaces(20, seed=4, image_size=32, cache_dir=str(tmp_path))
    np.testing.assert_array_equal(x, y)
    # The file was repaired and no temp files were left behind.
    assert os.listdir(tmp_path) == [path.name]
    with np.load(path) as z:
        np.testing.assert_array_equal(z["images"], x)


def test_cache_with_wrong_contents_is_rerendered(tmp_path):
    x, _ = load_toonfaces(20, seed=4, image_size=32, cache_dir=str(tmp_path))
    (path,) = [tmp_path / f for f in os.listdir(tmp_path)]
    with open(path, "wb") as f:  # valid npz, wrong shape
        np.savez(f, images=np.zeros((3, 32, 32, 3), np.uint8))
    y, _ = load_toonfaces(20, seed=4, image_size=32, cache_dir=str(tmp_path))
    np.testing.assert_array_equal(x, y)


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "envcache"))
    load_toonfaces(5, seed=0, image_size=32)
    assert len(os.listdir(tmp_path / "envcache")) == 1


@pytest.mark.parametrize("fn", [render_toonfaces, load_toonfaces])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n=0),
        dict(n=-3),
        dict(n=2.5),
        dict(n=True),
        dict(n=4, image_size=48),
        dict(n=4, image_size=256),
        dict(n=4, image_size="64"),
        dict(n=4, seed=-1),
        dict(n=4, seed=1.5),
    ],
)
def test_bad_arguments(fn, kwargs, tmp_path):
    if fn is load_toonfaces:
        kwargs = dict(kwargs, cache_dir=str(tmp_path))
    with pytest.raises(ValueError):
        fn(**kwargs)
    if fn is load_toonfaces:
        assert os.listdir(tmp_path) == []


def test_numpy_integer_arguments_accepted():
    x, _ = render_toonfaces(np.int64(3), seed=np.int32(1), image_size=np.int64(32))
    assert x.shape == (3, 32, 32, 3)
