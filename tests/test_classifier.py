"""The ToonFaces attribute classifier: shapes, file round trip, bad files, and the bundled weights' accuracy."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganlib import classifier as classifier_module
from ganlib.classifier import (
    AttributeClassifier,
    load_bundled_classifier,
    load_classifier,
    save_classifier,
    train_attribute_classifier,
)
from ganlib.data.toonfaces import ATTRIBUTES, render_toonfaces


@pytest.fixture
def tiny_classifier():
    torch.manual_seed(0)
    return AttributeClassifier(width=4, feature_dim=16).eval()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_predict_proba_shapes_and_rows_sum_to_one(tiny_classifier, size):
    images = np.random.default_rng(0).integers(0, 256, (5, size, size, 3), dtype=np.uint8)
    probabilities = tiny_classifier.predict_proba(images, batch_size=2)
    assert list(probabilities) == list(ATTRIBUTES)
    for name, classes in ATTRIBUTES.items():
        assert probabilities[name].shape == (5, len(classes))
        np.testing.assert_allclose(probabilities[name].sum(1), 1.0, atol=1e-5)
    assert tiny_classifier.features(images).shape == (5, 16)


def test_empty_and_malformed_inputs(tiny_classifier):
    empty = tiny_classifier.predict_proba(np.zeros((0, 32, 32, 3), np.uint8))
    assert empty["hair"].shape == (0, 4)
    assert tiny_classifier.features(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0, 16)
    with pytest.raises(ValueError, match="N, H, W, 3"):
        tiny_classifier.predict_proba(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        tiny_classifier.predict_proba(np.zeros((2, 32, 32, 3), np.float32))


def test_save_load_round_trip(tiny_classifier, tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    path = save_classifier(tmp_path / "c.safetensors", tiny_classifier, {"accuracy": {"64": {"hat": 0.99}}})
    loaded = load_classifier(path)
    assert loaded.attributes == tiny_classifier.attributes
    assert loaded.metadata["accuracy"] == {"64": {"hat": 0.99}}
    assert not loaded.training
    expected, actual = tiny_classifier.predict_proba(images), loaded.predict_proba(images)
    for name in ATTRIBUTES:  # weights are stored in fp16
        np.testing.assert_allclose(actual[name], expected[name], atol=2e-3)


def test_bad_files_raise_value_error(tiny_classifier, tmp_path, tiny_checkpoint):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ValueError, match="garbage.safetensors"):
        load_classifier(garbage)
    with pytest.raises(ValueError, match="not an attribute classifier"):
        load_classifier(tiny_checkpoint)  # a generator file
    with pytest.raises(ValueError, match="no such file"):
        load_classifier(tmp_path / "missing.safetensors")
    # right format, wrong tensors
    path = save_classifier(tmp_path / "c.safetensors", tiny_classifier)
    with safe_open(str(path), "pt") as handle:
        metadata = json.loads(handle.metadata()["ganlib"])
    save_file(
        {"heads.hat.weight": torch.zeros(2, 16)},
        str(tmp_path / "bad.safetensors"),
        metadata={"ganlib": json.dumps(metadata)},
    )
    with pytest.raises(ValueError, match="do not match"):
        load_classifier(tmp_path / "bad.safetensors")


def test_bundled_classifier_only_for_toonfaces():
    assert load_bundled_classifier("mnist") is None
    assert load_bundled_classifier("") is None
    model = load_bundled_classifier("toonfaces")
    assert isinstance(model, AttributeClassifier)
    assert load_bundled_classifier("toonfaces") is model  # loaded once
    assert classifier_module.BUNDLED["toonfaces"].stat().st_size < 2 * 2**20


@pytest.mark.parametrize("size", [32, 64, 128])
def test_bundled_classifier_is_accurate_on_fresh_renders(size):
    """>= 98% on every attribute, on faces from a seed that training (1) and its test set (2) never used."""
    model = load_bundled_classifier("toonfaces")
    images, labels = render_toonfaces(300, seed=12345, image_size=size)
    probabilities = model.predict_proba(images)
    for name in ATTRIBUTES:
        accuracy = (probabilities[name].argmax(1) == labels[name]).mean()
        assert accuracy >= 0.98, f"{name} at {size} px: {accuracy:.1%}"


def test_bundled_metadata_records_accuracy():
    metadata = load_bundled_classifier("toonfaces").metadata
    assert set(metadata["accuracy"]) == {"32", "64", "128"}
    assert all(value >= 0.98 for sizes in metadata["accuracy"].values() for value in sizes.values())


def test_training_runs_and_reports():
    """A few steps of the real training loop (accuracy is meaningless at this size)."""
    model, report = train_attribute_classifier(
        n_train=64, n_test=16, epochs=1, batch_size=32, width=4, feature_dim=16, cache=False, log=lambda message: None
    )
    assert not model.training
    assert set(report["accuracy"]) == {"32", "64", "128"}
    assert set(report["accuracy"]["64"]) == set(ATTRIBUTES)
    assert report["training"]["n_train"] == 64
