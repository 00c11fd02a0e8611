"""Issue 21: the bundled checkpoints ship their first-start results (checkpoints/first-start/<key>/, written by
``make bundled-cache``: labels, directions, measured edits, components, and the pictures of the demo and of the
Samples page's first grid), read where the user's cache has none, so that a first start ever computes nothing for
the demo. A retrained checkpoint without regenerated files fails the first test here (intended: run the command); a
stale or foreign shipped file is ignored, never trusted and never a crash."""

import shutil
from pathlib import Path

import pytest
from app_support import isolate_app, run_view
from test_direction_cache import calls, with_cache  # noqa: F401  (calls is a fixture)
from test_directions import tiny_explorer  # noqa: F401  (a fixture)

from dashboard import bundled_cache, services
from ganlib.direction_cache import SHIPPED, DirectionCache
from ganlib.explorer import LABEL_BLOCK, Explorer

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p for p in (ROOT / "checkpoints").glob("*.safetensors") if not p.name.endswith(".encoder.safetensors"))
SHIPPED_FOLDER = ROOT / "checkpoints" / SHIPPED


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_each_bundled_checkpoint_ships_its_results_under_its_own_key(path):
    """The folder is named by the sha256 of the checkpoint (and its classifier) as it is now: retraining a bundled
    checkpoint without `make bundled-cache` fails here, rather than leaving the first start to compute again."""
    cache = Explorer.from_checkpoint(path).cache
    assert cache.shipped == SHIPPED_FOLDER / cache.key
    assert cache.shipped.is_dir(), f"no shipped results for {path.name}: run `make bundled-cache`"
    names = [file.name for file in cache.shipped.iterdir()]
    assert any(name.startswith("components-") for name in names)  # the Components mode's first view
    assert sum(file.stat().st_size for file in cache.shipped.iterdir()) < bundled_cache.MAX_SHIPPED_BYTES


def test_no_shipped_folder_outlives_its_checkpoint():
    keys = {Explorer.from_checkpoint(path).cache.key for path in BUNDLED}
    assert {folder.name for folder in SHIPPED_FOLDER.iterdir()} <= keys, "stale folders: run `make bundled-cache`"


def test_the_shipped_layer_is_read_after_the_user_cache_and_never_written(tiny_explorer, tmp_path, calls):  # noqa: F811
    first = with_cache(tiny_explorer, tmp_path / "built")
    direction = first.direction("hair=blond", "svm", conditional=True, n=2 * LABEL_BLOCK)
    assert calls["find_direction"] == 1
    shipped = tmp_path / "built"
    before = sorted(p.name for p in shipped.iterdir())
    user = tmp_path / "user"
    restarted = Explorer(
        tiny_explorer.generator, classifier=tiny_explorer.classifier, cache=DirectionCache(user, "test-key", shipped)
    )
    again = restarted.direction("hair=blond", "svm", conditional=True, n=2 * LABEL_BLOCK)
    assert calls == {"classify_latents": 2, "find_direction": 1, "measure_edit": 0}  # read, not computed again
    assert (again.vector == direction.vector).all()
    restarted.direction("hair=blond", "mean_difference", conditional=False, n=2 * LABEL_BLOCK)  # computed: labels read
    assert calls["classify_latents"] == 2
    assert sorted(p.name for p in shipped.iterdir()) == before  # the new direction went to the user's folder
    assert any(p.name.startswith("direction-") for p in user.iterdir())


def test_a_stale_or_foreign_shipped_file_is_ignored(tiny_explorer, tmp_path, calls):  # noqa: F811
    """Files of another checkpoint (a retrained one's, copied under this key by hand) and damaged files are
    ignored: the result is computed, and stored in the user's folder."""
    other = with_cache(tiny_explorer, tmp_path / "other")
    other.cache.key = "another-checkpoint"
    other.direction("hair=blond", "svm", conditional=True, n=LABEL_BLOCK)
    shipped = tmp_path / "shipped"
    shutil.copytree(tmp_path / "other", shipped)
    next(shipped.glob("labels-*")).write_bytes(b"\0" * 100)  # and one damaged file
    computed = dict(calls)
    mine = Explorer(
        tiny_explorer.generator,
        classifier=tiny_explorer.classifier,
        cache=DirectionCache(tmp_path / "user", "test-key", shipped),
    )
    mine.direction("hair=blond", "svm", conditional=True, n=LABEL_BLOCK)
    assert calls["find_direction"] == computed["find_direction"] + 1
    assert calls["classify_latents"] == computed["classify_latents"] + 1


def test_a_checkpoint_reads_the_folder_shipped_beside_it(tmp_path, tiny_checkpoint):
    cache = Explorer.from_checkpoint(tiny_checkpoint).cache
    assert cache.shipped == tiny_checkpoint.parent / SHIPPED / cache.key
    assert cache.folder.parent != cache.shipped.parent  # never the user's cache


def _bundled_toonfaces() -> Path | None:
    path = ROOT / "checkpoints" / "toonfaces64.safetensors"
    return path if path in BUNDLED else None


@pytest.fixture
def first_start_ever(tmp_path, monkeypatch):
    """A machine that never ran the app (an empty user cache, nothing in memory, no warm-up) with the bundled
    toonfaces64 and the files shipped beside it; its checkpoint id."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setattr(services, "_seen_versions", {})
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "empty-cache"))
    folder = isolate_app(tmp_path, monkeypatch, _bundled_toonfaces())
    shutil.copytree(SHIPPED_FOLDER, folder / SHIPPED)
    return services.list_checkpoints()[0].id


def _generating(monkeypatch) -> dict:
    counts = {"edit_latent_vectors": 0, "images_and_scores": 0}
    for name in counts:
        original = getattr(Explorer, name)

        def counted(self, *args, name=name, original=original, **kwargs):
            counts[name] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Explorer, name, counted)
    return counts


@pytest.mark.slow
@pytest.mark.skipif(_bundled_toonfaces() is None, reason="needs the bundled toonfaces64 checkpoint")
def test_a_first_start_ever_computes_nothing_for_the_demo(first_start_ever, monkeypatch, calls):  # noqa: F811
    """The Samples page's first grid, the Arithmetic page's first view and the "Add sunglasses" click label, fit,
    measure and generate nothing for the demo: all of it comes from the files shipped beside the checkpoint."""
    generated = _generating(monkeypatch)
    assert not run_view("samples", timeout=300).exception
    at = run_view("arithmetic", timeout=300)
    at.button(key="demo_sunglasses").click().run()
    assert not at.exception and "sunglasses added" in " ".join(m.label for m in at.main.metric)
    assert calls == {"classify_latents": 0, "find_direction": 0, "measure_edit": 0}
    assert generated == {"edit_latent_vectors": 0, "images_and_scores": 0}


@pytest.mark.skipif(_bundled_toonfaces() is None, reason="needs the bundled toonfaces64 checkpoint")
def test_the_shipped_pictures_are_what_the_code_draws_now(first_start_ever, monkeypatch):
    """A change of how a view is drawn (latents, the edit) without `make bundled-cache` fails here, rather than a
    first start showing other pictures than every later one."""
    from dashboard import state
    from dashboard.views import attribute_edits

    path, demo = first_start_ever, attribute_edits.DEMO
    default = {name: value.default for name, value in state.URL_STATE.items()}
    grid = tuple(range(default["seed"], default["seed"] + default["grid_size"]))
    faces = services.exemplar_seeds(path, ("-" + demo["direction"],), attribute_edits.EDIT_FACES, 0)
    direction = (path, demo["direction"], demo["direction_method"], bool(demo["conditional"]))
    strengths = (0.0, float(demo["strength"]))
    generated = _generating(monkeypatch)
    shipped_rows = services.attribute_edit(*direction, faces, strengths)
    shipped_grid = services.samples(path, grid, default["truncation"])
    assert generated == {"edit_latent_vectors": 0, "images_and_scores": 0}  # both read from the shipped files
    model = services.explorer(path)
    drawn_rows = model.edit_latent_vectors(model.latents(faces), services._direction(*direction), strengths)
    assert (shipped_rows == drawn_rows).all()
    drawn_grid, _ = model.images_and_scores(model.latents(grid, default["truncation"]))
    assert (shipped_grid.images == drawn_grid).all()


@pytest.mark.slow
def test_the_command_writes_every_bundled_checkpoints_folder_and_removes_stale_ones(tmp_path, tiny_checkpoint):
    """`make bundled-cache` with GANLIB_CHECKPOINTS elsewhere: one folder per bundled file, named by its key and
    holding what a first start computes (the components; the tiny model has no classifier), and a folder of a
    file that is gone (a retrained checkpoint's old key) removed."""
    import os
    import subprocess
    import sys

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    shutil.copyfile(tiny_checkpoint, checkpoints / "tiny.safetensors")
    stale = checkpoints / SHIPPED / ("0" * 64)
    stale.mkdir(parents=True)
    (stale / "labels-0-250.safetensors").write_bytes(b"old")
    environment = {**os.environ, "GANLIB_CHECKPOINTS": str(checkpoints), "GANLIB_CACHE": str(tmp_path / "user")}
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.bundled_cache"], env=environment, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    key = Explorer.from_checkpoint(checkpoints / "tiny.safetensors").cache.key
    assert [folder.name for folder in (checkpoints / SHIPPED).iterdir()] == [key]
    names = [path.name for path in (checkpoints / SHIPPED / key).iterdir()]
    assert any(name.startswith("components-") for name in names) and any(name.startswith("samples-") for name in names)
    assert not (tmp_path / "user").exists()  # the user's cache is not where the command works
