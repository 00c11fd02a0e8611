"""Your image says when it failed: a reconstruction no closer to the picture than a random sample is no match."""

from __future__ import annotations

import math

import numpy as np
import torch

import ganlib
from ganlib import inversion
from ganlib.images import generate


def test_a_reconstruction_only_as_close_as_chance_is_no_match():
    # figures measured on toonfaces64 (ganlib.inversion, CHANCE_MARGIN_DB): gradient, colour pattern, face, sample
    assert inversion.no_closer_than_chance(10.7, 10.5)
    assert inversion.no_closer_than_chance(11.6, 11.4)
    assert inversion.no_closer_than_chance(9.5, 10.0)  # a photograph below chance
    assert not inversion.no_closer_than_chance(24.2, 12.2)
    assert not inversion.no_closer_than_chance(30.6, 11.7)
    assert inversion.no_closer_than_chance(12.0, 10.0)  # within the margin: not clearly closer
    assert inversion.no_closer_than_chance(math.nan, 10.0)


def test_chance_is_the_best_random_sample_against_each_picture(tiny_config):
    torch.manual_seed(0)
    generator = ganlib.Generator(tiny_config).eval()
    z = torch.randn(inversion.CHANCE_SAMPLES, tiny_config.latent_dim, generator=torch.Generator().manual_seed(0))
    samples = generate(generator, z)
    grey = np.full_like(samples[:1], 128)
    chance = inversion.chance_psnr(generator, np.concatenate([samples[3:4], grey]))
    assert chance.shape == (2,)
    assert chance[0] == np.inf  # the picture is one of the random samples itself
    expected = inversion.psnr(samples, np.repeat(grey, len(samples), axis=0)).max()
    assert chance[1] == expected and np.isfinite(chance[1])
