"""The direction cache (ganlib.direction_cache) and the Explorer's memo over it: labels, directions and measured
edits are computed once per checkpoint and read back after a restart; a rewritten checkpoint starts afresh; a
damaged, foreign or hostile cache file is ignored and replaced, never trusted."""

import json
import os
import threading
import time

import numpy as np
import pytest
import torch
from safetensors.numpy import save as save_tensors
from test_directions import tiny_explorer  # noqa: F401  (a fixture)

import ganlib
import ganlib.explorer
from ganlib import direction_cache
from ganlib.direction_cache import DirectionCache, content_key
from ganlib.directions import find_direction, label_latents, measure_edit
from ganlib.explorer import LABEL_BLOCK, Explorer


def with_cache(explorer: Explorer, folder) -> Explorer:
    """The same G and classifier with a fresh memo over the cache folder ``folder``: a restarted server."""
    return Explorer(explorer.generator, classifier=explorer.classifier, cache=DirectionCache(folder, "test-key"))


@pytest.fixture
def calls(monkeypatch):
    """Counts of the expensive steps the Explorer takes: labelling, fitting, measuring."""
    counts = {"classify_latents": 0, "find_direction": 0, "measure_edit": 0}
    for name in counts:
        original = getattr(ganlib.explorer, name)

        def counted(*args, name=name, original=original, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(ganlib.explorer, name, counted)
    return counts


def same_figures(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN == NaN here


def test_labels_are_what_label_latents_gives_across_blocks(tiny_explorer, tmp_path):  # noqa: F811
    explorer = with_cache(tiny_explorer, tmp_path)
    for first, count in ((3, 20), (LABEL_BLOCK - 10, 30), (0, 2 * LABEL_BLOCK)):
        _, expected = label_latents(tiny_explorer, count, first)
        found = explorer.labels(first, count)
        for name in expected:
            np.testing.assert_array_equal(found[name], expected[name])


def test_computed_once_then_read_back_after_a_restart(tiny_explorer, tmp_path, calls):  # noqa: F811
    blocks = -(-600 // LABEL_BLOCK)
    first = with_cache(tiny_explorer, tmp_path)
    direction = first.direction("hair=blond", "svm", conditional=True, n=600)
    figures = first.measure(direction, 2.0, n=60, seed=LABEL_BLOCK, sides=("add",))  # seeds labelled already
    assert first.direction("hair=blond", "svm", conditional=True, n=600) is direction
    assert calls == {"classify_latents": blocks, "find_direction": 1, "measure_edit": 1}  # each block once
    expected = find_direction(tiny_explorer, "hair=blond", "svm", n=600, conditional=True)
    np.testing.assert_array_equal(direction.vector, expected.vector)
    assert direction.class_distance == expected.class_distance and direction.n == expected.n
    assert same_figures(figures, measure_edit(tiny_explorer, expected, 2.0, n=60, seed=LABEL_BLOCK, sides=("add",)))

    restarted = with_cache(tiny_explorer, tmp_path)
    again = restarted.direction("hair=blond", "svm", conditional=True, n=600)
    assert same_figures(restarted.measure(again, 2.0, n=60, seed=LABEL_BLOCK, sides=("add",)), figures)
    np.testing.assert_array_equal(restarted.labels(0, 600)["hair"], first.labels(0, 600)["hair"])
    assert calls == {"classify_latents": blocks, "find_direction": 1, "measure_edit": 1}  # nothing computed again
    np.testing.assert_array_equal(again.vector, direction.vector)
    assert (again.attribute, again.method, again.class_distance, again.n) == (
        direction.attribute,
        direction.method,
        direction.class_distance,
        direction.n,
    )
    # another method on the same seeds needs no labelling, only a fit
    restarted.direction("smiling", "mean_difference", n=600)
    assert calls["classify_latents"] == blocks and calls["find_direction"] == 2


def test_a_measurement_is_keyed_by_the_direction_strength_and_side(tiny_explorer, tmp_path, calls):  # noqa: F811
    explorer = with_cache(tiny_explorer, tmp_path)
    plain = explorer.direction("hair=blond", n=500)
    conditioned = explorer.direction("hair=blond", n=500, conditional=True)
    for direction, strength, sides in ((plain, 1.0, ("add",)), (plain, 1.5, ("add",)), (plain, 1.0, ("remove",))):
        explorer.measure(direction, strength, n=40, seed=0, sides=sides)
    explorer.measure(conditioned, 1.0, n=40, seed=0, sides=("add",))
    explorer.measure(plain, 1.0, n=40, seed=0, sides=("add",))
    assert calls["measure_edit"] == 4


def test_a_rewritten_checkpoint_gets_a_fresh_cache(tmp_path, tiny_config, calls):
    path = tmp_path / "faces.safetensors"

    def write(seed: int) -> None:
        torch.manual_seed(seed)
        metadata = {"dataset": {"name": "toonfaces", "num_images": 64}, "training": {"steps": seed}, "sample_seed": 0}
        ganlib.save_generator(path, ganlib.Generator(tiny_config).eval(), metadata)

    write(0)
    explorer = Explorer.from_checkpoint(path)  # toonfaces: the bundled classifier judges it, and a cache is kept
    assert explorer.cache is not None and explorer.cache.folder.parent == direction_cache.cache_root()
    labels = explorer.labels(0, 10)
    assert calls["classify_latents"] == 1
    reopened = Explorer.from_checkpoint(path)
    assert reopened.cache.folder == explorer.cache.folder
    np.testing.assert_array_equal(reopened.labels(0, 10)["hair"], labels["hair"])
    assert calls["classify_latents"] == 1  # read from disk
    write(1)  # a training run's next checkpoint, under the same name
    rewritten = Explorer.from_checkpoint(path)
    assert rewritten.cache.folder != explorer.cache.folder
    rewritten.labels(0, 10)
    assert calls["classify_latents"] == 2
    assert Explorer.from_checkpoint(path, cache=False).cache is None


def test_the_key_covers_both_files(tmp_path):
    checkpoint, classifier = tmp_path / "g.safetensors", tmp_path / "c.safetensors"
    checkpoint.write_bytes(b"generator")
    classifier.write_bytes(b"classifier")
    key = content_key(checkpoint, classifier)
    classifier.write_bytes(b"classifier, retrained")
    assert content_key(checkpoint, classifier) != key
    assert content_key(classifier, checkpoint) != content_key(checkpoint, classifier)


# ---------------------------------------------------------------- untrusted files
def _corrupt_labels(path):
    return {
        "garbage": b"not a safetensors file at all" * 10,
        "truncated": path.read_bytes()[: len(path.read_bytes()) // 2],
        "huge header length": (2**60).to_bytes(8, "little") + path.read_bytes()[8:],
        "wrong shape": save_tensors(
            {name: np.full((7, 2), 0.5, np.float32) for name in ("sunglasses", "smiling", "hat", "hair", "skin")},
            metadata=_metadata_of(path),
        ),
        "out of range": _labels_with(path, lambda values: values * 2 + 1),
        "not finite": _labels_with(path, lambda values: values * np.nan),
        "another checkpoint's": path.read_bytes().replace(b"test-key", b"othe-key"),
    }


def _metadata_of(path) -> dict:
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length])["__metadata__"]


def _labels_with(path, change) -> bytes:
    from safetensors.numpy import load

    tensors = {name: change(values).astype(np.float32) for name, values in load(path.read_bytes()).items()}
    return save_tensors(tensors, metadata=_metadata_of(path))


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "huge header length", "wrong shape", "out of range", "not finite", "another checkpoint's"],
)
def test_a_damaged_labels_file_is_ignored_and_replaced(tiny_explorer, tmp_path, calls, damage):  # noqa: F811
    expected = with_cache(tiny_explorer, tmp_path).labels(0, 50)
    path = tmp_path / f"labels-0-{LABEL_BLOCK}.safetensors"
    path.write_bytes(_corrupt_labels(path)[damage])
    found = with_cache(tiny_explorer, tmp_path).labels(0, 50)
    assert calls["classify_latents"] == 2  # computed again
    for name in expected:
        np.testing.assert_array_equal(found[name], expected[name])
    with_cache(tiny_explorer, tmp_path).labels(0, 50)
    assert calls["classify_latents"] == 2  # and the replacement is read back


def test_links_pipes_and_oversized_files_are_not_read(tiny_explorer, tmp_path, calls, monkeypatch):  # noqa: F811
    with_cache(tiny_explorer, tmp_path).labels(0, 50)
    path = tmp_path / f"labels-0-{LABEL_BLOCK}.safetensors"
    (tmp_path / "outside").mkdir()
    elsewhere = tmp_path / "outside" / "labels.safetensors"
    os.replace(path, elsewhere)
    path.symlink_to(elsewhere)
    with_cache(tiny_explorer, tmp_path).labels(0, 50)
    assert calls["classify_latents"] == 2 and not path.is_symlink()  # replaced by a file of our own
    path.unlink()
    os.mkfifo(path)  # reading a pipe would block the page forever
    with_cache(tiny_explorer, tmp_path).labels(0, 50)
    assert calls["classify_latents"] == 3
    monkeypatch.setattr(direction_cache, "MAX_TENSOR_FILE_BYTES", 100)
    with_cache(tiny_explorer, tmp_path).labels(0, 50)
    assert calls["classify_latents"] == 4


def test_a_damaged_direction_is_ignored(tiny_explorer, tmp_path, calls):  # noqa: F811
    expected = with_cache(tiny_explorer, tmp_path).direction("hair=blond", n=100)
    (path,) = tmp_path.glob("direction-*.safetensors")
    metadata = _metadata_of(path)
    for damage in (
        save_tensors({"vector": np.full(8, 3.0, np.float32)}, metadata=metadata),  # not a unit vector
        save_tensors({"vector": np.ones(5, np.float32) / np.sqrt(5)}, metadata=metadata),  # wrong dimension
        save_tensors({"vector": expected.vector}, metadata={**metadata, "class_distance": "nan"}),
        save_tensors(
            {"vector": expected.vector}, metadata={**metadata, "key": metadata["key"].replace("blond", "red")}
        ),
    ):
        path.write_bytes(damage)
        found = with_cache(tiny_explorer, tmp_path).direction("hair=blond", n=100)
        np.testing.assert_array_equal(found.vector, expected.vector)
    assert calls["find_direction"] == 5


def test_a_direction_stored_with_an_earlier_meaning_is_not_read_back(tiny_explorer, tmp_path, calls):  # noqa: F811
    """A direction cached when its class distance (the unit of strength) meant something else, under the key it had
    then: read back, every edit along it would move faces by the old unit."""
    key = {"attribute": "hair=blond", "method": "mean_difference", "conditional": False, "n": 100, "seed": 0}
    earlier = {"kind": "direction", **key}
    metadata = {
        "format": direction_cache.FORMAT,
        "version": str(direction_cache.VERSION),
        "checkpoint": "test-key",
        "key": json.dumps(earlier, sort_keys=True),
        "class_distance": "99.0",
        "fitted": "100",
    }
    vector = np.full(8, 1 / np.sqrt(8), np.float32)
    path = tmp_path / f"direction-{direction_cache._digest(earlier)}.safetensors"
    path.write_bytes(save_tensors({"vector": vector}, metadata=metadata))
    found = with_cache(tiny_explorer, tmp_path).direction("hair=blond", n=100)
    assert calls["find_direction"] == 1 and found.class_distance != 99.0
    assert found.class_distance == find_direction(tiny_explorer, "hair=blond", n=100).class_distance


def test_a_damaged_measurement_is_ignored(tiny_explorer, tmp_path, calls):  # noqa: F811
    explorer = with_cache(tiny_explorer, tmp_path)
    direction = explorer.direction("hair=blond", n=100)
    expected = explorer.measure(direction, 1.0, n=40, seed=0, sides=("add",))
    (path,) = tmp_path.glob("measure-*.json")
    record = json.loads(path.read_text())
    deep: dict = {}
    for _ in range(10):
        deep = {"x": deep}
    for damage in (
        b"{not json",
        b"\xff\xfe binary",
        json.dumps({**record, "key": {**record["key"], "strength": 9.0}}).encode(),  # measured for another strength
        json.dumps({**record, "version": 0}).encode(),
        json.dumps({**record, "figures": deep}).encode(),
        json.dumps({**record, "figures": [1, 2]}).encode(),
        b" " * (direction_cache.MAX_JSON_FILE_BYTES + 1),
    ):
        path.write_bytes(damage)
        found = with_cache(tiny_explorer, tmp_path).measure(direction, 1.0, n=40, seed=0, sides=("add",))
        assert same_figures(found, expected)
    assert calls["measure_edit"] == 8


def test_an_unwritable_cache_costs_only_the_recomputation(tiny_explorer, tmp_path):  # noqa: F811
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    explorer = with_cache(tiny_explorer, blocker / "cache")
    assert explorer.direction("hair=blond", n=100).vector.shape == (8,)


def test_old_entries_are_evicted_beyond_the_limits(tiny_explorer, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(direction_cache, "MAX_FILES_PER_CHECKPOINT", 3)
    explorer = with_cache(tiny_explorer, tmp_path)
    for block in range(5):
        explorer.labels(block * LABEL_BLOCK, 1)
        time.sleep(0.01)  # distinct modification times
    (tmp_path / "notes.txt").write_text("not ours: never evicted")
    explorer.labels(5 * LABEL_BLOCK, 1)
    kept = {path.name for path in tmp_path.iterdir() if path.name != "tiny.safetensors"}  # the fixture's G
    assert kept == {f"labels-{block * LABEL_BLOCK}-{LABEL_BLOCK}.safetensors" for block in (3, 4, 5)} | {"notes.txt"}


def test_two_threads_asking_at_once_compute_once(tiny_explorer, tmp_path, monkeypatch):  # noqa: F811
    """The dashboard's warm-up thread and a page may ask for the demo's direction together."""
    fits = []
    original = ganlib.explorer.find_direction

    def slow_fit(*args, **kwargs):
        fits.append(threading.current_thread().name)
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(ganlib.explorer, "find_direction", slow_fit)
    explorer = with_cache(tiny_explorer, tmp_path)
    found = []
    threads = [threading.Thread(target=lambda: found.append(explorer.direction("hair=blond", n=100))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fits) == 1 and found[0] is found[1] is found[2]
