"""Issue 21: the pictures a view draws (the demo's before/after rows, the Samples grid) are kept on disk by
checkpoint content and view (ganlib.picture_cache), so that a restarted server draws a rehearsed view without
generating it; the files are validated, size-bounded and written atomically, never trusted blindly."""

import os
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from app_support import isolate_app, run_view

import ganlib.explorer
from dashboard import services
from ganlib import picture_cache
from ganlib.picture_cache import Expected, PictureCache

ROOT = Path(__file__).resolve().parent.parent
IMAGES = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
EXPECTED = {"images": Expected((2, 4, 4, 3), np.uint8), "p": Expected((2,), np.float32, 0.0, 1.0)}
VIEW = {"seeds": [0, 1], "truncation": 1.0}


def kept(tmp_path, key="checkpoint-a") -> PictureCache:
    return PictureCache(tmp_path / "pictures", key)


def test_a_view_is_read_back_as_drawn(tmp_path):
    kept(tmp_path).put("samples", VIEW, {"images": IMAGES, "p": np.array([0.25, 1.0], np.float32)})
    found = kept(tmp_path).get("samples", VIEW, EXPECTED)
    np.testing.assert_array_equal(found["images"], IMAGES)
    assert not [p for p in (tmp_path / "pictures" / "checkpoint-a").iterdir() if p.name.startswith(".tmp-")]


def test_another_view_checkpoint_or_name_reads_nothing(tmp_path):
    kept(tmp_path).put("samples", VIEW, {"images": IMAGES, "p": np.zeros(2, np.float32)})
    assert kept(tmp_path).get("samples", {**VIEW, "truncation": 0.7}, EXPECTED) is None
    assert kept(tmp_path).get("attribute_edit", VIEW, EXPECTED) is None
    assert kept(tmp_path, "checkpoint-b").get("samples", VIEW, EXPECTED) is None


@pytest.mark.parametrize(
    "arrays",
    [
        {"images": IMAGES[:1], "p": np.zeros(2, np.float32)},  # another shape
        {"images": IMAGES.astype(np.float32), "p": np.zeros(2, np.float32)},  # another dtype
        {"images": IMAGES, "p": np.array([0.5, 7.0], np.float32)},  # out of range
        {"images": IMAGES, "p": np.array([0.5, np.nan], np.float32)},  # NaN where none may be
        {"images": IMAGES},  # a missing array
        {"images": IMAGES, "p": np.zeros(2, np.float32), "extra": np.zeros(1, np.uint8)},  # one too many
    ],
    ids=["shape", "dtype", "range", "nan", "missing", "extra"],
)
def test_a_file_that_is_not_what_the_view_draws_is_ignored(tmp_path, arrays):
    kept(tmp_path).put("samples", VIEW, arrays)
    assert kept(tmp_path).get("samples", VIEW, EXPECTED) is None


def test_nan_only_where_the_view_allows_it(tmp_path):
    expected = {"strengths": Expected((2,), np.float64, -5.0, 5.0, nan=True)}
    kept(tmp_path).put("per_face_edit", VIEW, {"strengths": np.array([1.5, np.nan])})
    assert np.isnan(kept(tmp_path).get("per_face_edit", VIEW, expected)["strengths"][1])
    kept(tmp_path).put("per_face_edit", VIEW, {"strengths": np.array([1.5, np.inf])})
    assert kept(tmp_path).get("per_face_edit", VIEW, expected) is None


def test_damaged_foreign_and_oversized_files_are_ignored(tmp_path, monkeypatch):
    store = kept(tmp_path)
    store.put("samples", VIEW, {"images": IMAGES, "p": np.zeros(2, np.float32)})
    [path] = store.folder.iterdir()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert store.get("samples", VIEW, EXPECTED) is None
    path.write_bytes(b"\xff" * 64)
    assert store.get("samples", VIEW, EXPECTED) is None
    path.write_bytes(data)
    monkeypatch.setattr(picture_cache, "MAX_FILE_BYTES", len(data) - 1)
    assert store.get("samples", VIEW, EXPECTED) is None
    path.unlink()
    os.mkfifo(path)  # a pipe would block a plain read
    assert store.get("samples", VIEW, EXPECTED) is None


def test_a_view_that_is_not_plain_values_is_not_kept(tmp_path):
    kept(tmp_path).put("samples", {"seeds": object()}, {"images": IMAGES})
    assert not (tmp_path / "pictures").exists()
    assert kept(tmp_path).get("samples", {"seeds": [np.int64(3)], "psi": np.float32(0.5)}, EXPECTED) is None


def test_the_folder_keeps_the_most_recently_used_files_within_its_bound(tmp_path, monkeypatch):
    arrays = {"images": IMAGES, "p": np.zeros(2, np.float32)}
    store = kept(tmp_path)
    store.put("samples", {"n": 0}, arrays)
    size = next(store.folder.iterdir()).stat().st_size
    monkeypatch.setattr(picture_cache, "MAX_TOTAL_BYTES", 3 * size)
    for n in range(1, 3):
        store.put("samples", {"n": n}, arrays)
        os.utime(next(iter(sorted(store.folder.iterdir(), key=os.path.getmtime))), (1, 1))  # older on disk
    assert store.get("samples", {"n": 0}, EXPECTED) is not None  # read: now the most recent
    store.put("samples", {"n": 3}, arrays)
    kept_views = [n for n in range(4) if store.get("samples", {"n": n}, EXPECTED) is not None]
    assert len(kept_views) == 3 and 0 in kept_views and 3 in kept_views


def test_a_shipped_view_is_read_where_the_user_folder_has_none_and_never_written(tmp_path):
    arrays = {"images": IMAGES, "p": np.zeros(2, np.float32)}
    kept(tmp_path / "built").put("samples", VIEW, arrays)
    shipped = tmp_path / "built" / "pictures" / "checkpoint-a"
    store = PictureCache(tmp_path / "user", "checkpoint-a", shipped)
    np.testing.assert_array_equal(store.get("samples", VIEW, EXPECTED)["images"], IMAGES)
    store.put("samples", {"n": 2}, arrays)
    assert len(list(shipped.iterdir())) == 1 and len(list(store.folder.iterdir())) == 1
    other = PictureCache(tmp_path / "user", "checkpoint-b", shipped)  # a shipped file of another checkpoint
    assert other.get("samples", VIEW, EXPECTED) is None


def test_an_unwritable_folder_only_costs_the_drawing(tmp_path):
    blocker = tmp_path / "pictures"
    blocker.write_text("a file where the folder should be")
    kept(tmp_path).put("samples", VIEW, {"images": IMAGES})  # no exception
    assert kept(tmp_path).get("samples", VIEW, EXPECTED) is None


# ------------------------------------------------------------------------------------------------ the dashboard
@pytest.fixture
def restarted(monkeypatch):
    """Forget what this process holds in memory (the cached results and the loaded model), as a new server."""

    def restart():
        st.cache_data.clear()
        st.cache_resource.clear()
        monkeypatch.setattr(services, "_seen_versions", {})

    restart()
    return restart


def _counting(monkeypatch, *names) -> dict:
    counts = dict.fromkeys(names, 0)
    for name in names:
        original = getattr(ganlib.explorer.Explorer, name)

        def counted(self, *args, name=name, original=original, **kwargs):
            counts[name] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(ganlib.explorer.Explorer, name, counted)
    return counts


def test_a_restarted_server_draws_the_samples_grid_without_generating(
    tmp_path, monkeypatch, tiny_checkpoint, restarted
):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    first = run_view("samples")
    assert not first.exception
    restarted()
    counts = _counting(monkeypatch, "images_and_scores", "images")
    again = run_view("samples")
    assert not again.exception and counts == {"images_and_scores": 0, "images": 0}
    assert len(again.main.get("image")) == len(first.main.get("image")) == 16
    assert list(again.main.caption)[0].value == list(first.main.caption)[0].value  # the same seeds, the same norms


def test_a_damaged_kept_grid_is_drawn_again(tmp_path, monkeypatch, tiny_checkpoint, restarted):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    run_view("samples")
    for path in (Path(os.environ["GANLIB_CACHE"]) / "pictures").rglob("samples-*"):
        path.write_bytes(path.read_bytes()[:-10])
    restarted()
    counts = _counting(monkeypatch, "images_and_scores")
    assert not run_view("samples").exception and counts["images_and_scores"] == 1


def _bundled_toonfaces() -> Path | None:
    from ganlib.classifier import BUNDLED

    path = ROOT / "checkpoints" / "toonfaces32.safetensors"
    return path if path.is_file() and BUNDLED["toonfaces"].is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_bundled_toonfaces() is None, reason="needs the bundled classifier and a ToonFaces checkpoint")
@pytest.mark.parametrize("per_face", [False, True], ids=["strength", "per-face"])
def test_a_restarted_server_draws_the_demo_rows_without_generating(tmp_path, monkeypatch, restarted, per_face):
    isolate_app(tmp_path, monkeypatch, _bundled_toonfaces())
    state = {"arithmetic_mode": "Directions", "per_face": per_face, **services.DEMO_EDIT}
    state = {"direction": state.pop("attribute"), "direction_method": state.pop("method"), **state}
    first = run_view("arithmetic", timeout=300, session_state=state)
    assert not first.exception
    restarted()
    counts = _counting(monkeypatch, "edit_latent_vectors", "images")
    again = run_view("arithmetic", timeout=300, session_state=state)
    assert not again.exception and counts == {"edit_latent_vectors": 0, "images": 0}
    assert [m.value for m in again.main.markdown] == [m.value for m in first.main.markdown]  # what the rows show
    assert len(again.main.get("image")) == len(first.main.get("image")) > 0
