"""Fréchet distance between two sets of feature vectors: FID's formula (Heusel et al. 2017) in any feature space.

Each set is summarised by a Gaussian (mean mu, covariance Sigma); the distance between the two Gaussians is

    FD = |mu_a - mu_b|^2 + tr(Sigma_a) + tr(Sigma_b) - 2 tr((Sigma_a Sigma_b)^(1/2))

ganlib uses the attribute classifier's penultimate features instead of Inception's, so the numbers are not
comparable with published FIDs; compare a generator with the distance between two real samples of the same size
(``ganlib evaluate`` reports that baseline and the ratio), because FD is biased upward for small samples.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

# Added to both diagonals (relative to the mean variance) before the matrix square root. With fewer samples than
# features, or dead (constant) features, a covariance is singular; sqrtm of a product of singular matrices is
# numerically unstable and can come out complex or non-finite. A ridge of 1e-6 of the typical variance makes
# both positive definite and changes the distance by about 1e-6 * (number of features) of a variance: negligible.
RELATIVE_EPS = 1e-6


def statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [F] and covariance [F, F] (unbiased, float64) of features [N, F]; N must be at least 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be [N, F], got shape {features.shape}")
    if len(features) < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {len(features)}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinite values")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b, eps: float = RELATIVE_EPS) -> float:
    """FD between two Gaussians given by their means and covariances (see the module docstring)."""
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    covariance_a, covariance_b = np.asarray(covariance_a, np.float64), np.asarray(covariance_b, np.float64)
    if mean_a.shape != mean_b.shape or covariance_a.shape != covariance_b.shape:
        raise ValueError(f"feature sizes differ: {mean_a.shape} vs {mean_b.shape}")
    ridge = eps * max(float(np.mean(np.diag(covariance_a)) + np.mean(np.diag(covariance_b))) / 2, 1e-12)
    covariance_a = covariance_a + ridge * np.eye(len(mean_a))  # the same ridge in the traces below, so that
    covariance_b = covariance_b + ridge * np.eye(len(mean_b))  # identical sets still give exactly 0
    root = linalg.sqrtm(covariance_a @ covariance_b)
    if not np.isfinite(root).all():
        raise ValueError("the covariance product has no finite square root (features too degenerate)")
    # The product of two symmetric PSD matrices has real non-negative eigenvalues, so its square root is real;
    # what sqrtm returns beyond that is round-off, which we drop.
    root = np.real(root)
    difference = mean_a - mean_b
    value = difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2 * np.trace(root)
    return float(max(value, 0.0))  # identical sets can give -1e-12 by round-off


def frechet_distance(features_a, features_b, eps: float = RELATIVE_EPS) -> float:
    """FD between feature sets [N, F] and [M, F] (N, M >= 2; N and M need not be equal)."""
    mean_a, covariance_a = statistics(features_a)
    mean_b, covariance_b = statistics(features_b)
    return distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b, eps)
