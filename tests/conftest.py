"""Shared fixtures: tiny models and data so every unit test runs in well under a second or two."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganlib
from ganlib.data import ImageDataset

# One thread: tiny models gain nothing from more, and oversubscribed OpenMP threads (the browser suite's server and a
# training subprocess run beside the tests) made these tests up to 6x slower on the 2-core machines here.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Rendered data sets and the direction cache go to a per-session temp dir, never the user's ~/.cache; the
    dashboard's background warm-up stays off unless a test starts it (tests/test_warm_up.py)."""
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path_factory.getbasetemp() / "ganlib-cache"))
    monkeypatch.setenv("GANLIB_WARM_UP", "0")


@pytest.fixture
def tiny_config():
    return ganlib.ModelConfig(image_size=32, channels=3, latent_dim=8, generator_width=8, discriminator_width=8)


# TrainConfig settings for a run that trains in a fraction of a second (the trainer's tests, its fault tests)
TINY_TRAINING = dict(
    dataset="digits",
    image_size=32,
    latent_dim=8,
    generator_width=8,
    discriminator_width=8,
    batch_size=8,
    log_every=2,
    sample_every=1000,
    precision="fp32",
    device="cpu",
)


def random_dataset(n=64, size=32, channels=3, seed=0) -> ImageDataset:
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8))
    labels = {"flag": rng.integers(0, 2, n)}
    return ImageDataset("random", images, labels, {"flag": ("no", "yes")})


@pytest.fixture
def tiny_checkpoint(tmp_path, tiny_config):
    """A generator file with a discriminator, as the trainer writes it."""
    torch.manual_seed(0)
    path = tmp_path / "tiny.safetensors"
    ganlib.save_generator(
        path,
        ganlib.Generator(tiny_config).eval(),
        {
            "dataset": {"name": "random", "num_images": 64, "attributes": {"flag": ["no", "yes"]}},
            "training": {"steps": 0},
            "sample_seed": 0,
        },
        discriminator=ganlib.Discriminator(tiny_config).eval(),
    )
    return path
