"""An encoder E(x) -> z for one generator: the starting point that makes projection (ganlib.inversion) fast.

E is a small convolutional net, the discriminator's body with a linear head to the latent. It learns from the
generator's own samples, which cost one forward pass each: pairs (G(z), z), shown with small shifts, blur and
pixel noise (real pictures are never quite where or as soft as samples), and a squared error in z. It only has
to land near the right face: the optimisation in ganlib.inversion refines its guess.

An encoder file sits beside its checkpoint (``faces.safetensors`` -> ``faces.encoder.safetensors``) and is written
and read like one: safetensors + JSON under the ``"ganlib"`` key, names and shapes checked from the header
before anything is built, values checked finite. It records a fingerprint of the generator's weights, so an
encoder is never used with a generator it was not trained for (an fp16 export of the same weights matches).
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from .checkpoint import CheckpointError, check_header, load_module_state, read_metadata, write_atomically
from .config import ModelConfig
from .images import to_uint8
from .version import __version__

ENCODER_FORMAT = "ganlib-encoder"
FORMAT_VERSION = 1
SUFFIX = ".encoder.safetensors"
MAX_ENCODER_WIDTH = 256
DEFAULT_WIDTH = 32


def encoder_path(checkpoint) -> Path:
    """Where the encoder of a checkpoint lives: beside it, ``NAME.encoder.safetensors``."""
    checkpoint = Path(checkpoint)
    stem = checkpoint.name[: -len(".safetensors")] if checkpoint.name.endswith(".safetensors") else checkpoint.name
    return checkpoint.with_name(stem + SUFFIX)


def generator_fingerprint(generator: nn.Module) -> str:
    """sha256 of the generator's weights rounded to fp16, in name order: the same for a file and its fp16 export."""
    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        value = tensor.detach().cpu()
        digest.update((value.half() if value.is_floating_point() else value).contiguous().numpy().tobytes())
    return digest.hexdigest()


class Encoder(nn.Module):
    """uint8-derived images [N, C, S, S] in [-1, 1] -> latents [N, latent_dim]."""

    def __init__(self, image_size: int, channels: int, latent_dim: int, width: int = DEFAULT_WIDTH):
        super().__init__()
        ModelConfig(image_size=image_size, channels=channels, latent_dim=latent_dim)  # the same bounds as a model's
        if not (isinstance(width, int) and 4 <= width <= MAX_ENCODER_WIDTH):
            raise ValueError(f"encoder width must be an integer from 4 to {MAX_ENCODER_WIDTH}, got {width!r}")
        self.image_size, self.channels, self.latent_dim, self.width = image_size, channels, latent_dim, width
        layers: list[nn.Module] = []
        width_in, side, index = channels, image_size, 0
        while side > 4:  # each strided convolution halves the side, down to 4 x 4
            width_out = width * min(2**index, 8)
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1, bias=index == 0)]
            layers += [nn.BatchNorm2d(width_out)] if index else []
            layers += [nn.LeakyReLU(0.2, True)]
            width_in, side, index = width_out, side // 2, index + 1
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width_in * 16, latent_dim)

    def architecture(self) -> dict:
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "latent_dim": self.latent_dim,
            "width": self.width,
        }

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).flatten(1))


# ---------------------------------------------------------------- training on the generator's samples


def _augment(x: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Shifts of up to max_shift pixels, a light blur on half the batch, and pixel noise."""
    n, _, size, _ = x.shape
    if max_shift:
        padded = F.pad(x, (max_shift,) * 4, mode="replicate")
        dx, dy = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).tolist()
        x = torch.stack([padded[i, :, dy[i] : dy[i] + size, dx[i] : dx[i] + size] for i in range(n)])
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    amount = torch.rand(n, 1, 1, 1, generator=generator) * (torch.rand(n, 1, 1, 1, generator=generator) < 0.5)
    x = x + amount * (blurred - x)
    return x + 0.02 * torch.randn(x.shape, generator=generator)


def _samples(generator, count: int, seed: int, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """count latents (seeded) and their images, quantised to uint8 as a saved picture is."""
    z = torch.randn(count, generator.config.latent_dim, generator=torch.Generator().manual_seed(seed))
    images = []
    with torch.no_grad():
        for start in range(0, count, batch_size):
            pictures = torch.from_numpy(to_uint8(generator(z[start : start + batch_size])))
            images.append(pictures[..., : generator.config.channels].permute(0, 3, 1, 2).contiguous())
    return z, torch.cat(images)


def train_encoder(
    generator,
    steps: int = 3000,
    batch_size: int = 64,
    samples: int = 20000,
    width: int = DEFAULT_WIDTH,
    learning_rate: float = 2e-3,
    seed: int = 0,
    progress=None,
) -> tuple[Encoder, dict]:
    """Train an encoder on ``samples`` images of ``generator`` (drawn once, shown ``steps * batch_size`` times with
    fresh augmentation). ``progress(step, steps, loss)`` after every step. Returns the eval-mode encoder and a
    report: steps, samples, seconds, the final training loss and the loss on min(512, samples) fresh ones."""
    if not 1 <= steps <= 1_000_000 or not 1 <= batch_size <= 4096 or not 1 <= samples <= 1_000_000:
        raise ValueError("steps, batch size and samples must be positive (at most 1,000,000, 4,096, 1,000,000)")
    started = time.perf_counter()
    generator = generator.eval()
    config = generator.config
    torch.manual_seed(seed)  # weight init; batches and augmentation use their own generator
    encoder = Encoder(config.image_size, config.channels, config.latent_dim, width)
    z, images = _samples(generator, samples, seed)
    held_out_z, held_out = _samples(generator, min(512, samples), seed + 1)  # other seeds: never trained on
    random = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=learning_rate, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.1)
    max_shift = max(1, config.image_size // 32)
    encoder.train()
    loss = torch.tensor(math.nan)
    for step in range(1, steps + 1):
        index = torch.randint(0, samples, (batch_size,), generator=random)
        x = _augment(images[index].float() / 127.5 - 1.0, random, max_shift)
        loss = F.mse_loss(encoder(x), z[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None:
            progress(step, steps, float(loss.detach()))
    encoder.eval()
    with torch.no_grad():
        held_out_loss = float(F.mse_loss(encoder(held_out.float() / 127.5 - 1.0), held_out_z))
    report = {
        "steps": steps,
        "batch_size": batch_size,
        "samples": samples,
        "learning_rate": learning_rate,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "threads": torch.get_num_threads(),
        "final_loss": float(loss.detach()),
        "held_out_loss": held_out_loss,  # on min(512, samples) fresh samples, per coordinate; guessing z = 0 scores 1
    }
    return encoder, report


# ---------------------------------------------------------------- files (safetensors + JSON, never pickle)


def save_encoder(path, encoder: Encoder, generator, training: dict | None = None, notes: str | None = None) -> Path:
    """Write the encoder (fp16 weights, BatchNorm counters as int64) with the fingerprint of its generator."""
    path = Path(path)
    tensors = {
        f"encoder.{name}": (tensor.half() if tensor.is_floating_point() else tensor)
        for name, tensor in encoder.state_dict().items()
    }
    metadata = {
        "format": ENCODER_FORMAT,
        "format_version": FORMAT_VERSION,
        "ganlib_version": __version__,
        "architecture": encoder.architecture(),
        "generator": {
            "fingerprint": generator_fingerprint(generator),
            "file": Path(getattr(generator, "checkpoint_path", "") or "").name,
        },
        "training": training or {},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if notes:
        metadata["notes"] = notes
    write_atomically(path, tensors, metadata)
    return path


def _architecture(path, metadata: dict) -> dict:
    architecture = metadata.get("architecture")
    try:
        values = {key: architecture[key] for key in ("image_size", "channels", "latent_dim", "width")}
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in values.values()):
            raise TypeError("architecture values must be integers")
        with torch.device("meta"):
            Encoder(**values)  # validates the bounds without allocating
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"invalid encoder architecture in metadata: {error}") from None
    return values


def load_encoder(path, generator=None) -> Encoder:
    """An eval-mode fp32 Encoder with ``.metadata``. With ``generator``, refuses an encoder trained for another
    one (architecture or weights). Any problem raises CheckpointError (a ValueError) naming the file."""
    metadata = read_metadata(path)
    if metadata["format"] != ENCODER_FORMAT:
        raise CheckpointError(path, f"not a ganlib encoder (format {metadata['format']!r})")
    if metadata["format_version"] > FORMAT_VERSION:
        raise CheckpointError(path, f"encoder format version {metadata['format_version']} is newer than this ganlib")
    architecture = _architecture(path, metadata)
    with torch.device("meta"):
        expected = {name: (tuple(t.shape), t.dtype) for name, t in Encoder(**architecture).state_dict().items()}
    check_header(path, expected, "encoder.", "encoder")  # names and shapes, before anything is built or read
    if generator is not None:
        config = generator.config
        wanted = {"image_size": config.image_size, "channels": config.channels, "latent_dim": config.latent_dim}
        if any(architecture[key] != value for key, value in wanted.items()):
            raise CheckpointError(path, f"made for {architecture}, not for this generator's {wanted}")
        recorded = (metadata.get("generator") or {}).get("fingerprint")
        if recorded != generator_fingerprint(generator):
            raise CheckpointError(
                path, "trained for another generator (its weights differ); train one with ganlib train-encoder"
            )
    try:
        tensors = load_file(str(path))
    except Exception as error:
        raise CheckpointError(path, f"tensors cannot be read ({type(error).__name__})") from None
    encoder = Encoder(**architecture)
    load_module_state(path, encoder, {k[len("encoder.") :]: v for k, v in tensors.items()}, "encoder")
    encoder.metadata = metadata
    return encoder.eval()


def find_encoder(checkpoint, generator) -> Encoder | None:
    """The encoder beside ``checkpoint`` if there is one, checked against ``generator``; None where there is none.
    A file that is there but unusable raises CheckpointError."""
    path = encoder_path(checkpoint)
    return load_encoder(path, generator) if path.is_file() else None
