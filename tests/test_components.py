"""SeFa and GANSpace directions on a tiny generator."""

import numpy as np
import pytest
import torch

import ganlib
from ganlib.components import first_block_activations, first_layer_matrix, ganspace, sefa


@pytest.fixture
def generator(tiny_config):
    torch.manual_seed(0)
    return ganlib.Generator(tiny_config).eval()


def test_first_layer_matrix_is_the_first_layer(generator):
    """A z is mapped linearly onto the first feature map: A z equals the pre-BatchNorm activations."""
    z = torch.randn(5, generator.config.latent_dim)
    matrix = first_layer_matrix(generator, fold_batchnorm=False)
    with torch.no_grad():
        expected = generator.net[0](z[:, :, None, None]).flatten(1).double().numpy()
    np.testing.assert_allclose(z.double().numpy() @ matrix.T, expected, atol=1e-6)


def test_sefa_returns_orthonormal_directions_largest_first(generator):
    directions, eigenvalues = sefa(generator, k=5)
    assert directions.shape == (5, generator.config.latent_dim)
    np.testing.assert_allclose(directions @ directions.T, np.eye(5), atol=1e-5)
    assert np.all(np.diff(eigenvalues) <= 1e-9)
    matrix = first_layer_matrix(generator)
    change = np.linalg.norm(matrix @ directions[0].astype(np.float64))
    random = np.random.default_rng(0).normal(size=(100, generator.config.latent_dim))
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    assert change >= np.linalg.norm(random @ matrix.T, axis=1).max() - 1e-6  # no direction moves the layer more


def test_ganspace_returns_unit_directions_and_variance_fractions(generator):
    directions, fractions = ganspace(generator, k=3, n=400, seed=0)
    assert directions.shape == (3, generator.config.latent_dim)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-5)
    assert np.all((fractions > 0) & (fractions < 1)) and np.all(np.diff(fractions) <= 0)
    again, _ = ganspace(generator, k=3, n=400, seed=0)
    np.testing.assert_array_equal(directions, again)
    assert first_block_activations(generator, torch.zeros(2, generator.config.latent_dim)).shape[0] == 2


def test_bad_k_is_refused(generator):
    with pytest.raises(ValueError, match="k must be"):
        sefa(generator, k=0)
    with pytest.raises(ValueError, match="at least 2k"):
        ganspace(generator, k=5, n=6)


def test_top_components_are_both_methods_with_ids_and_labels(generator):
    from ganlib.components import closest_other, top_components

    found = top_components(generator, k=3, samples=400)
    assert [c.id for c in found] == ["pc1", "pc2", "pc3", "sefa1", "sefa2", "sefa3"]
    assert [c.label for c in found][2:4] == ["PC3", "SeFa 1"]
    vectors = np.stack([c.vector for c in found])
    assert vectors.dtype == np.float32 and vectors.shape == (6, generator.config.latent_dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sefa_vectors = vectors[3:]
    np.testing.assert_allclose(sefa_vectors @ sefa_vectors.T, np.eye(3), atol=1e-5)  # SeFa: orthonormal
    twin, cosine = closest_other(found, found[0])
    assert twin.method == "sefa" and 0 <= cosine <= 1 + 1e-6
    assert cosine == pytest.approx(max(abs(float(c.vector @ found[0].vector)) for c in found[3:]))
    assert len(top_components(generator, k=50, samples=400)) == 2 * generator.config.latent_dim  # k capped
