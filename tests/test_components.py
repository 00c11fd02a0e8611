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


def test_ganspace_never_holds_the_whole_activation_matrix(monkeypatch):
    """GANSpace reads [n, C*16] activations (a 64-px G: [5000, 6144], 740 MB in float64 with its centred copy).
    Within a small memory budget, the largest array it holds is a fraction of that matrix, and the directions are
    the ones the whole matrix gives."""
    import tracemalloc

    from ganlib import components
    from ganlib.latent import sample_latents

    torch.manual_seed(0)
    wide = ganlib.Generator(ganlib.ModelConfig(image_size=32, latent_dim=8, generator_width=32)).eval()
    n, width = 400, wide.net[0].out_channels * 16  # 400 x 2048: 6.6 MB in float64
    expected, expected_fractions = ganspace(wide, k=3, n=n, seed=0)
    whole = first_block_activations(wide, sample_latents(n, 8, 0))
    assert whole.shape == (n, width)
    monkeypatch.setattr(components, "BATCH_BYTES", 512 << 10, raising=False)
    monkeypatch.setattr(components, "HELD_BYTES", 1 << 20, raising=False)
    tracemalloc.start()
    try:
        directions, fractions = ganspace(wide, k=3, n=n, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < whole.nbytes / 4  # numpy's arrays are traced; the old code's centred copy alone was whole.nbytes
    np.testing.assert_allclose(directions, expected, atol=1e-5)
    np.testing.assert_allclose(fractions, expected_fractions, rtol=1e-5)
