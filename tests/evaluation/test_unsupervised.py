"""SeFa and GANSpace directions on a tiny generator."""

import numpy as np
import pytest
import torch

import ganlib
from ganlib.evaluation.unsupervised import first_block_activations, first_layer_matrix, ganspace, sefa


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
