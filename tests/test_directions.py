"""Attribute directions: planted directions are recovered, conditional editing, edits, and the explorer API."""

import json
import math

import numpy as np
import pytest
import torch

import ganlib
from ganlib.classifier import AttributeClassifier
from ganlib.directions import (
    Direction,
    attribute_probability,
    class_distance,
    classify_latents,
    clearest_exemplars,
    edit_latents,
    exemplar_difference,
    find_direction,
    label_latents,
    mean_difference,
    measure_edit,
    orthogonalize,
    parse_attribute,
    per_face_strength,
    svm_normal,
)
from ganlib.explorer import Explorer


def planted(n=2000, d=16, seed=0):
    """Latents whose label is the sign of their projection on a known unit direction, plus label noise."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=d)
    truth /= np.linalg.norm(truth)
    z = rng.normal(size=(n, d))
    positive = z @ truth + 0.3 * rng.normal(size=n) > 0.4  # unbalanced, like hats (28%)
    return z, positive, truth


@pytest.mark.parametrize("method", ["mean_difference", "svm"])
def test_methods_recover_a_planted_direction(method):
    z, positive, truth = planted()
    direction = mean_difference(z, positive)[0] if method == "mean_difference" else svm_normal(z, positive, seed=0)
    assert np.linalg.norm(direction) == pytest.approx(1.0)
    assert direction @ truth > 0.9


def test_mean_difference_distance_and_torch_input():
    z, positive, _ = planted()
    vector, distance = mean_difference(torch.as_tensor(z, dtype=torch.float32), positive)
    expected = np.linalg.norm(z[positive].mean(0) - z[~positive].mean(0))
    assert distance == pytest.approx(expected, rel=1e-5)
    assert class_distance(z, positive, vector) == pytest.approx(distance, rel=1e-5)


def test_exemplar_difference_is_the_dcgan_arithmetic():
    rng = np.random.default_rng(0)
    positives, negatives = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    vector, distance = exemplar_difference(positives, negatives)
    np.testing.assert_allclose(vector * distance, positives.mean(0) - negatives.mean(0))


def test_one_sided_labels_raise():
    z = np.random.default_rng(0).normal(size=(10, 4))
    with pytest.raises(ValueError, match="both with and without"):
        mean_difference(z, np.ones(10, bool))
    with pytest.raises(ValueError, match="both with and without"):
        svm_normal(z, np.zeros(10, bool))


def test_orthogonalize_gives_a_unit_vector_orthogonal_to_the_others():
    rng = np.random.default_rng(0)
    direction, a, b = rng.normal(size=(3, 10))
    others = [a, b, a + 2 * b]  # a dependent third one must not break Gram-Schmidt
    result = orthogonalize(direction, others)
    assert np.linalg.norm(result) == pytest.approx(1.0)
    for other in others:
        assert abs(result @ other) < 1e-9
    assert result @ direction > 0  # still points the same way
    with pytest.raises(ValueError, match="span"):
        orthogonalize(a + b, [a, b])


def test_edit_latents_moves_by_strength_times_class_distance():
    vector = np.zeros(6, np.float32)
    vector[2] = 1.0
    direction = Direction("smiling", "mean_difference", vector, class_distance=1.5, n=10)
    z = torch.randn(4, 6)
    edited = edit_latents(z, direction, 2.0)
    torch.testing.assert_close(edited - z, torch.as_tensor(3.0 * vector).expand(4, 6))
    per_row = edit_latents(z.numpy(), direction, np.array([0.0, 1.0, -1.0, 0.5]))
    np.testing.assert_allclose((per_row - z.numpy())[:, 2], [0.0, 1.5, -1.5, 0.75], atol=1e-6)


def test_parse_attribute():
    attributes = {"smiling": ["no", "yes"], "hair": ["black", "blond"]}
    assert parse_attribute("smiling", attributes) == ("smiling", 1)
    assert parse_attribute("hair=blond", attributes) == ("hair", 1)
    for bad, message in (("hair", "pick one"), ("hair=green", "no class"), ("beard", "unknown attribute")):
        with pytest.raises(ValueError, match=message):
            parse_attribute(bad, attributes)


# ---------------------------------------------------------------- end to end on a tiny generator


@pytest.fixture
def tiny_explorer(tiny_checkpoint):
    """A tiny untrained G with a tiny random classifier whose heads are rescaled to the spread of G's images, so
    that it is confident and splits them both ways (the numbers mean nothing; the plumbing is what is tested)."""
    torch.manual_seed(0)
    classifier = AttributeClassifier(width=4, feature_dim=16).eval()
    explorer = Explorer(ganlib.load_generator(tiny_checkpoint), classifier=classifier)
    features = torch.as_tensor(classifier.features(explorer.images_for_seeds(range(300))))
    with torch.no_grad():
        for head in classifier.heads.values():
            head.weight.normal_()
            logits = features @ head.weight.T
            scale = 8.0 / logits.std(0).clamp_min(1e-6)
            head.weight.mul_(scale[:, None])
            head.bias.copy_(-logits.mean(0) * scale)
    return explorer


def test_label_latents_shapes(tiny_explorer):
    z, probabilities = label_latents(tiny_explorer, 20, seed=3)
    assert z.shape == (20, 8)
    torch.testing.assert_close(z, tiny_explorer.latents(range(3, 23)))
    assert probabilities["hair"].shape == (20, 4)


@pytest.mark.parametrize("method", ["mean_difference", "svm", "exemplar3"])
@pytest.mark.parametrize("conditional", [False, True])
def test_find_direction_end_to_end(tiny_explorer, method, conditional):
    direction = find_direction(tiny_explorer, "hair=blond", method, n=200, seed=0, conditional=conditional)
    assert direction.vector.shape == (8,)
    assert np.linalg.norm(direction.vector) == pytest.approx(1.0, abs=1e-5)
    assert math.isfinite(direction.class_distance)
    assert direction.n == (6 if method == "exemplar3" else 200)


@pytest.mark.parametrize("method", ["mean_difference", "svm", "exemplar3"])
def test_one_unit_of_strength_is_the_class_mean_distance_for_every_method_and_setting(tiny_explorer, method):
    """A strength moves a face the same length in z whatever the method and conditioning: ||mean z with - without||
    on the labelled samples (a unit that grew with a noisy or conditioned vector sent faces out of G's range)."""
    labelled = label_latents(tiny_explorer, 200, seed=0)
    p = attribute_probability(labelled[1], "hair=blond", tiny_explorer.attributes)
    expected = mean_difference(labelled[0], p > 0.5)[1]
    plain, conditioned = (
        find_direction(tiny_explorer, "hair=blond", method, n=200, conditional=conditional, labelled=labelled)
        for conditional in (False, True)
    )
    assert abs(conditioned.vector @ plain.vector) < 1.0 - 1e-4  # conditioning changed the vector, not the unit
    assert plain.class_distance == pytest.approx(expected, rel=1e-6)
    assert conditioned.class_distance == pytest.approx(expected, rel=1e-6)


def test_exemplar3_takes_the_clearest_exemplars_whose_difference_points_along_the_attribute():
    """In 100-d, three random sure exemplars a side differ mostly by their own quirks (cosine with the planted
    direction about 0.25); the three furthest apart along the class means' line point along it."""
    z, _, truth = planted(n=2000, d=100)
    p = 1 / (1 + np.exp(-6 * (z @ truth - 0.4)))  # a classifier sure about most faces
    positives, negatives = clearest_exemplars(z, p)
    assert len(positives) == len(negatives) == 3
    assert (p[positives] > 0.9).all() and (p[negatives] < 0.1).all()
    assert exemplar_difference(z[positives], z[negatives])[0] @ truth > 0.5
    with pytest.raises(ValueError, match="needs 3 faces the classifier is sure have"):
        clearest_exemplars(z[:50], np.where(np.arange(50) < 2, 0.99, 0.01))


def test_conditioning_on_more_directions_than_dimensions_explains(tiny_explorer):
    # smiling has 9 others (2 binary + 4 hair + 3 skin classes); the tiny latent space has 8 dimensions
    with pytest.raises(ValueError, match="8-dimensional"):
        find_direction(tiny_explorer, "smiling", n=200, conditional=True)


def test_measure_edit_and_per_face_strength(tiny_explorer):
    direction = find_direction(tiny_explorer, "hair=blond", "mean_difference", n=200)
    result = measure_edit(tiny_explorer, direction, strength=2.0, n=60, seed=500)
    for figures in (result, result["random"]):
        for key in ("add_success", "remove_success"):
            assert math.isnan(figures[key]) or 0.0 <= figures[key] <= 1.0
        assert set(figures["keep_others"]) == {"sunglasses", "smiling", "hat", "skin", "joint"}
        assert set(figures["remove_keep_others"]) == set(figures["keep_others"])
        assert 0 <= figures["add_faces"] <= 60
    assert result["step_length"] == pytest.approx(2.0 * direction.class_distance)

    z = tiny_explorer.latents([1, 2, 3, 4])
    strengths, edited = per_face_strength(tiny_explorer, z, direction, target=0.9, max_strength=4, steps=4, refine=0)
    assert strengths.shape == (4,) and edited.shape == (4, 8)
    reached = ~np.isnan(strengths)
    assert np.all(np.isin(strengths[reached], [0.0, 1.0, 2.0, 3.0, 4.0]))
    expected = edit_latents(z, direction, torch.as_tensor(np.where(reached, strengths, 4.0), dtype=torch.float32))
    torch.testing.assert_close(edited, expected)


def test_measuring_one_side_gives_that_half_of_the_full_figures(tiny_explorer):
    direction = find_direction(tiny_explorer, "hair=blond", "mean_difference", n=200)
    both = measure_edit(tiny_explorer, direction, strength=1.5, n=80, seed=300)
    for side, keep in (("add", "keep_others"), ("remove", "remove_keep_others")):
        half = measure_edit(tiny_explorer, direction, strength=1.5, n=80, seed=300, sides=(side,))
        for figures, full in ((half, both), (half["random"], both["random"])):
            keys = (f"{side}_success", f"{side}_faces", keep)
            assert json.dumps([figures[key] for key in keys]) == json.dumps([full[key] for key in keys])  # NaN too
            assert ("remove_success" if side == "add" else "add_success") not in figures
    with pytest.raises(ValueError, match="sides"):
        measure_edit(tiny_explorer, direction, sides=("sideways",))


def test_per_face_refinement_finds_a_shorter_step_that_still_reaches_the_target(tiny_explorer):
    direction = find_direction(tiny_explorer, "hair=blond", "mean_difference", n=200)
    z = tiny_explorer.latents(range(40))
    coarse, _ = per_face_strength(tiny_explorer, z, direction, target=0.9, max_strength=4, steps=4, refine=0)
    fine, edited = per_face_strength(tiny_explorer, z, direction, target=0.9, max_strength=4, steps=4, refine=3)
    np.testing.assert_array_equal(np.isnan(fine), np.isnan(coarse))
    moved = ~np.isnan(coarse) & (coarse > 0)
    assert moved.any(), "the tiny model should need a step for some faces"
    assert np.all(fine[moved] <= coarse[moved]) and np.all(fine[moved] > coarse[moved] - 1.0)
    assert np.all(np.isin(fine[moved] * 8, np.arange(33)))  # multiples of 1 / 2**3
    p = attribute_probability(classify_latents(tiny_explorer, edited[moved]), "hair=blond", tiny_explorer.attributes)
    assert np.all(p >= 0.9)
    torch.testing.assert_close(
        edited[moved], edit_latents(z[moved], direction, torch.as_tensor(fine[moved], dtype=torch.float32))
    )


def test_explorer_methods(tiny_explorer):
    assert tiny_explorer.binary_attributes() == [
        "sunglasses",
        "smiling",
        "hat",
        "hair=black",
        "hair=brown",
        "hair=blond",
        "hair=red",
        "skin=light",
        "skin=medium",
        "skin=dark",
    ]
    direction = tiny_explorer.direction("hair=blond", n=100)
    assert tiny_explorer.direction("hair=blond", n=100) is direction  # memoised
    assert tiny_explorer.direction("hair=blond", n=100, seed=1) is not direction
    grid = tiny_explorer.edit([5, 6, 7], direction, [-1.0, 0.0, 1.0, 2.0])
    assert grid.shape == (3, 4, 32, 32, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 1], tiny_explorer.images_for_seeds([5, 6, 7]))
    one = tiny_explorer.edit([6], direction, [2.0])
    np.testing.assert_array_equal(one[0, 0], grid[1, 3])


def test_explorer_without_classifier_explains(tiny_checkpoint):
    explorer = Explorer(ganlib.load_generator(tiny_checkpoint))
    assert explorer.binary_attributes() == []
    with pytest.raises(ValueError, match="no attribute classifier"):
        explorer.direction("smiling")
