"""Fréchet distance: zero on identical sets, equal to a direct scipy computation, |Δμ|² for a pure mean shift."""

import numpy as np
import pytest
from scipy import linalg

from ganlib.evaluation.frechet import distance_from_statistics, frechet_distance, statistics


def direct(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(sigma_a @ sigma_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sigma_a + sigma_b - 2 * root))


def test_a_set_against_itself_is_zero_even_with_singular_covariance():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(500, 8))
    singular = rng.normal(size=(20, 64))  # fewer samples than features
    assert frechet_distance(full, full) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(singular, singular) == pytest.approx(0.0, abs=1e-4)


def test_matches_a_direct_scipy_computation_on_random_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = 0.5 + rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    assert frechet_distance(a, b) == pytest.approx(direct(a, b), rel=1e-5)


@pytest.mark.parametrize("shift", [0.5, 1.0, 2.0, 4.0])
def test_a_mean_shift_adds_its_squared_length(shift):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 5))
    delta = shift * np.array([1.0, -1.0, 0.0, 0.5, 0.0])
    assert frechet_distance(a, a + delta) == pytest.approx(delta @ delta, rel=1e-6)


def test_statistics_and_bad_input():
    mean, covariance = statistics(np.array([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(mean, [1.0, 2.0])
    np.testing.assert_allclose(covariance, [[2.0, 2.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="at least 2"):
        statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        statistics(np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="sizes differ"):
        distance_from_statistics(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
