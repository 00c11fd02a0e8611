import math

import pytest
import torch

from ganlib.latent import (
    apply_direction,
    concept_vector,
    interpolation_path,
    latents_for_seeds,
    lerp,
    sample_latents,
    slerp,
    truncate,
)


def test_a_latent_is_identified_by_its_seed():
    grid = sample_latents(4, 10, seed=7)
    assert torch.equal(grid[2], latents_for_seeds([9], 10)[0])
    assert torch.equal(sample_latents(4, 10, seed=7), grid)
    assert not torch.equal(grid[0], grid[1])


def test_slerp_keeps_the_norm_and_lerp_dips():
    a, b = latents_for_seeds([1, 2], 100)
    t = torch.linspace(0, 1, 11)
    spherical, straight = slerp(a, b, t), lerp(a, b, t)
    expected = (1 - t) * a.norm() + t * b.norm()
    assert torch.allclose(spherical.norm(dim=1), expected, rtol=1e-5)
    assert straight.norm(dim=1)[5] < 0.8 * expected[5]  # the midpoint of a straight line falls toward the origin
    assert torch.allclose(spherical[0], a, atol=1e-5) and torch.allclose(spherical[-1], b, atol=1e-5)


def test_slerp_copes_with_parallel_vectors():
    a = torch.ones(8)
    result = slerp(a, 2 * a, torch.tensor([0.5]))
    assert torch.isfinite(result).all() and torch.allclose(result[0], 1.5 * a)


def test_path_through_three_points():
    points = latents_for_seeds([1, 2, 3], 16)
    path = interpolation_path(points, 9, "slerp")
    assert path.shape == (9, 16)
    assert torch.allclose(path[0], points[0], atol=1e-5) and torch.allclose(path[4], points[1], atol=1e-5)
    assert torch.allclose(path[-1], points[2], atol=1e-5)
    with pytest.raises(ValueError):
        interpolation_path(points[:1], 9)
    with pytest.raises(ValueError):
        interpolation_path(points, 9, "cubic")


def test_concepts_directions_truncation():
    exemplars = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 1.0]])
    assert torch.equal(concept_vector(exemplars), torch.tensor([2.0, 1.0]))
    z = torch.zeros(2, 2)
    moved = apply_direction(z, torch.tensor([1.0, 0.0]), torch.tensor([1.0, -2.0]))
    assert moved.tolist() == [[1.0, 0.0], [-2.0, 0.0]]
    assert truncate(torch.full((3,), 2.0), 0.5).tolist() == [1.0, 1.0, 1.0]
    assert math.isclose(latents_for_seeds(range(200), 400).norm(dim=1).mean().item(), 20.0, rel_tol=0.02)
