"""Edits that keep the person (ganlib.guided_edit) on the bundled default checkpoint, and the second judge."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib.classifier import AttributeClassifier, load_bundled_classifier, load_classifier, save_classifier
from ganlib.directions import CONFIDENT, DEFAULT_MEASURE_SEED, attribute_probability, edit_latents, keep_rates
from ganlib.explorer import Explorer
from ganlib.guided_edit import keep_person

CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "toonfaces64.safetensors"


@pytest.fixture(scope="module")
def explorer():
    return Explorer.from_checkpoint(CHECKPOINT, cache=False)


def _without_sunglasses(explorer, count):
    z = explorer.latents(range(DEFAULT_MEASURE_SEED, DEFAULT_MEASURE_SEED + 64))
    p = attribute_probability(explorer.attribute_probabilities(explorer.images(z)), "sunglasses", explorer.attributes)
    return z[torch.as_tensor(p < 1 - CONFIDENT)][:count]


def test_keeping_the_person_adds_the_attribute_and_keeps_the_others_where_arithmetic_does_not(explorer):
    z = _without_sunglasses(explorer, 6)
    direction = explorer.direction("sunglasses", "mean_difference", n=1000)
    start = edit_latents(z, direction, 1.5)
    kept = keep_person(explorer, z, start, "sunglasses")
    before = explorer.attribute_probabilities(explorer.images(z))
    results = {}
    for name, latents in (("arithmetic", start), ("kept", kept)):
        after = explorer.attribute_probabilities(explorer.images(latents))
        added = attribute_probability(after, "sunglasses", explorer.attributes) > 0.5
        others = [other for other in explorer.attributes if other != "sunglasses"]
        results[name] = (added.mean(), keep_rates(before, after, explorer.attributes, others, np.arange(len(z))))
    assert results["kept"][0] == 1.0
    assert results["kept"][1]["joint"] >= results["arithmetic"][1]["joint"]
    assert results["kept"][1]["joint"] >= 5 / 6
    # z stays where G was trained: |z| of N(0, I) in 100-d is 10 +- 0.7
    assert ((kept.norm(dim=1) - z.norm(dim=1)).abs() < 1.5).all()


def test_keeping_the_person_leaves_no_gradient_in_shared_networks(explorer):
    z = _without_sunglasses(explorer, 2)
    keep_person(explorer, z, z + 0.1, "sunglasses", steps=2)
    for network in (explorer.generator, explorer.discriminator, explorer.classifier):
        assert all(parameter.grad is None for parameter in network.parameters())


def test_keeping_the_person_needs_a_classifier(explorer):
    bare = Explorer(explorer.generator, explorer.discriminator, classifier=None)
    with pytest.raises(ValueError, match="needs an attribute classifier"):
        keep_person(bare, torch.zeros(1, 100), torch.zeros(1, 100), "sunglasses")


def test_the_second_judge_is_another_architecture_and_reads_the_attributes():
    first, second = load_bundled_classifier("toonfaces"), load_bundled_classifier("toonfaces", second=True)
    if second is None:
        pytest.skip("the second judge is not bundled")
    assert first.body == "strided" and second.body == "pooled"
    assert second.metadata["training"]["train_seed"] != first.metadata["training"]["train_seed"]
    accuracies = second.metadata["accuracy"]["64"]
    assert min(accuracies.values()) > 0.9


def test_a_pooled_classifier_round_trips_and_old_files_read_as_strided(tmp_path):
    model = AttributeClassifier(width=4, feature_dim=8, body="pooled").eval()
    path = save_classifier(tmp_path / "pooled.safetensors", model)
    loaded = load_classifier(path)
    assert loaded.body == "pooled"
    images = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    for name, values in model.predict_proba(images).items():
        np.testing.assert_allclose(loaded.predict_proba(images)[name], values, atol=2e-3)  # fp16 weights
    assert load_bundled_classifier("toonfaces").body == "strided"  # its file predates the body field
    with pytest.raises(ValueError, match="body must be one of"):
        AttributeClassifier(body="residual")
