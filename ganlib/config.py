"""Frozen, validated configuration for models and training runs.

Both dataclasses round-trip through plain dicts (``to_dict`` / ``from_dict``) because they are stored as JSON
inside checkpoints and run directories: a checkpoint describes its own architecture, so loading it never needs
the flags it was trained with.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

IMAGE_SIZES = (32, 64, 128)
LOSSES = ("non-saturating", "minimax")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "bf16", "fp32")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class _DictMixin:
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a dict, ignoring keys this version does not know (newer files stay readable)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class ModelConfig(_DictMixin):
    image_size: int = 64  # output side in pixels: 32, 64 or 128
    channels: int = 3  # 1 for grayscale, 3 for RGB
    latent_dim: int = 100  # length of z; the DCGAN paper uses 100
    generator_width: int = 64  # channels of G's last hidden layer ("ngf"); earlier layers use multiples of it
    discriminator_width: int = 64  # channels of D's first layer ("ndf")

    def __post_init__(self):
        _require(self.image_size in IMAGE_SIZES, f"image_size must be one of {IMAGE_SIZES}, got {self.image_size!r}")
        _require(self.channels in (1, 3), f"channels must be 1 or 3, got {self.channels!r}")
        _require(isinstance(self.latent_dim, int) and 1 <= self.latent_dim <= 4096,
                 f"latent_dim must be an integer from 1 to 4096, got {self.latent_dim!r}")
        for name in ("generator_width", "discriminator_width"):
            value = getattr(self, name)
            _require(isinstance(value, int) and 4 <= value <= 1024, f"{name} must be an integer from 4 to 1024, got {value!r}")

    @property
    def num_upsamplings(self) -> int:
        """Stride-2 layers between the 4x4 seed and the image: 3 for 32 px, 4 for 64 px, 5 for 128 px."""
        return int(math.log2(self.image_size)) - 2


@dataclass(frozen=True)
class TrainConfig(_DictMixin):
    dataset: str = "toonfaces"  # a built-in name (see ganlib.data.DATASETS) or a path to an image folder
    out: str = "runs/default"  # run directory: config.json, stats.jsonl, samples/, checkpoints
    image_size: int = 64
    latent_dim: int = 100
    generator_width: int = 64
    discriminator_width: int = 64
    steps: int = 2000  # generator steps
    batch_size: int = 64
    lr: float = 2e-4  # Adam learning rate for both nets (DCGAN paper)
    beta1: float = 0.5  # Adam beta1 (DCGAN paper; the default 0.9 oscillates)
    beta2: float = 0.999
    loss: str = "non-saturating"  # generator loss: "non-saturating" (-log D(G(z))) or "minimax" (log(1 - D(G(z))))
    d_steps: int = 1  # discriminator steps per generator step (k in Goodfellow et al. 2014)
    label_smoothing: float = 0.0  # D's target for real images is 1 - this (one-sided; Salimans et al. 2016)
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs at step 0, falling linearly to 0...
    instance_noise_steps: int = 0  # ...at this step (0: at `steps`; --resume with more steps keeps the old end)
    ema: bool = True  # keep an exponential moving average of G for sampling
    ema_decay: float = 0.999  # final EMA decay; it warms up from 0 so early checkpoints are not a blur
    log_every: int = 10  # steps between lines of stats.jsonl
    sample_every: int = 200  # steps between sample grids in samples/
    checkpoint_every: int = 1000  # steps between checkpoints (also written at least every checkpoint_minutes)
    checkpoint_minutes: float = 3.0
    keep_checkpoints: bool = False  # also copy every checkpoint to checkpoints/step_NNNNNN.safetensors
    seed: int = 0  # seeds weights, batches and noise: a CPU run with the same seed is reproducible
    sample_seed: int = 0  # seed of the fixed noise behind every sample grid
    device: str = "auto"  # auto | cpu | cuda | mps
    precision: str = "auto"  # auto (bf16 where the hardware runs it fast) | bf16 | fp32
    data_root: str = "data"  # where torchvision data sets live (or are downloaded to)
    num_images: int = 30000  # size of the rendered toonfaces set; upper bound for others (0 = all)

    def __post_init__(self):
        _require(bool(self.dataset), "dataset must not be empty")
        _require(self.image_size in IMAGE_SIZES, f"image_size must be one of {IMAGE_SIZES}, got {self.image_size!r}")
        _require(1 <= self.steps <= 10_000_000, f"steps must be from 1 to 10,000,000, got {self.steps!r}")
        _require(2 <= self.batch_size <= 4096, f"batch_size must be from 2 to 4096, got {self.batch_size!r}")
        _require(0 < self.lr <= 0.1, f"lr must be in (0, 0.1], got {self.lr!r}")
        _require(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1 and beta2 must be in [0, 1)")
        _require(self.loss in LOSSES, f"loss must be one of {LOSSES}, got {self.loss!r}")
        _require(1 <= self.d_steps <= 100, f"d_steps must be from 1 to 100, got {self.d_steps!r}")
        _require(0 <= self.label_smoothing < 0.5, f"label_smoothing must be in [0, 0.5), got {self.label_smoothing!r}")
        _require(0 <= self.instance_noise <= 2, f"instance_noise must be in [0, 2] (images span [-1, 1]), got {self.instance_noise!r}")
        _require(self.instance_noise_steps >= 0, f"instance_noise_steps must be non-negative, got {self.instance_noise_steps!r}")
        _require(0 <= self.ema_decay < 1, f"ema_decay must be in [0, 1), got {self.ema_decay!r}")
        for name in ("log_every", "sample_every", "checkpoint_every"):
            _require(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)!r}")
        _require(self.checkpoint_minutes > 0, "checkpoint_minutes must be positive")
        _require(self.seed >= 0 and self.sample_seed >= 0, "seeds must be non-negative")
        _require(self.device in DEVICES, f"device must be one of {DEVICES}, got {self.device!r}")
        _require(self.precision in PRECISIONS, f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        _require(self.num_images >= 0, "num_images must be non-negative")
        self.model_config(channels=3)  # validates latent_dim and widths with ModelConfig's messages

    def model_config(self, channels: int) -> ModelConfig:
        return ModelConfig(image_size=self.image_size, channels=channels, latent_dim=self.latent_dim,
                           generator_width=self.generator_width, discriminator_width=self.discriminator_width)
