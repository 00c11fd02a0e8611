"""What one request may cost: the budget every page's automatic work is held to, in seconds and in memory.

A link or an upload chooses what a page computes: a t-SNE of 5,000 points, an exemplar search over 20,000 seeds,
a generator of 128 px. What a page computes on arrival, without a click, must fit REQUEST_SECONDS at the speed of
the model at hand, measured on it (a 128-px upload is several times slower per image than the bundled 64-px
model, and a slower machine is slower still); bigger work waits for an explicit button, which shows its progress.
Memory is bounded per pass: a batch holds as many images as fit BATCH_BYTES of activations, estimated from the
networks' own layer shapes, so a wide 128-px generator batches fewer images than a small 32-px one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from .images import to_uint8

REQUEST_SECONDS = 20.0  # the most a page computes on its own for one request (a link, an upload, a default)
BATCH_BYTES = 64 << 20  # activations one batch may hold in a pass through G (and D): ~400 KB per 64-px toonface
HELD_BYTES = 128 << 20  # what one computation keeps between passes over its data (GANSpace's activations)
MAX_BATCH = 256  # the batch every pass used before this budget: small models gain nothing from more
# scikit-learn's Barnes-Hut t-SNE, one thread: 2,000 points x 500 iterations at perplexity 30 took 4.2-4.8 s of CPU
# where it was measured (benchmarks/bench_tsne.py), about 4.5 us a point-iteration; this bound has headroom for
# slower machines and for a busy one, where the same t-SNE took 7-15 s of wall clock.
TSNE_SECONDS_PER_POINT_ITERATION = 1e-5
PROBE_IMAGES = 8  # images timed once per model to measure its speed (about 0.1 s for a 128-px generator)


@dataclass(frozen=True)
class Cost:
    """A model's measured cost per image: G, and D and the classifier where there are, on this machine."""

    seconds_per_image: float
    bytes_per_image: int  # activations one image holds at once in a pass (the largest of G's and D's)

    @property
    def batch_size(self) -> int:
        return batch_size(self.bytes_per_image)

    def seconds(self, images: int) -> float:
        return max(0, int(images)) * self.seconds_per_image

    def images_within(self, seconds: float = REQUEST_SECONDS) -> int:
        """How many images fit ``seconds`` at this speed."""
        return int(seconds / max(self.seconds_per_image, 1e-9))


def batch_size(bytes_per_image: int) -> int:
    """Images per batch: as many as fit BATCH_BYTES, at least 1, at most MAX_BATCH."""
    return max(1, min(MAX_BATCH, BATCH_BYTES // max(1, int(bytes_per_image))))


@torch.no_grad()
def activation_bytes(network: nn.Module, example: torch.Tensor) -> int:
    """Bytes per image that a pass through ``network`` holds at once: the largest input plus output of one of its
    layers when it is an nn.Sequential (G's ``net``, D's ``features``), else its own input plus output, run on
    ``example`` (batch 1)."""
    layers = list(network) if isinstance(network, nn.Sequential) else [network]
    largest, x = 0, example
    for layer in layers:
        y = layer(x)
        largest = max(largest, (x.numel() + y.numel()) * x.element_size())
        x = y
    return largest // max(1, len(example))


@torch.no_grad()
def bytes_per_image(generator: nn.Module, discriminator: nn.Module | None = None) -> int:
    """The activations one image holds at once in a pass through G, or through D where that is more: read from a
    pass of one image through their layers (G's ``net``, D's ``features``)."""
    z = torch.zeros(1, generator.config.latent_dim, device=next(generator.parameters()).device)
    net = getattr(generator, "net", None)
    largest = (
        activation_bytes(net, z[:, :, None, None]) if isinstance(net, nn.Sequential) else activation_bytes(generator, z)
    )
    if discriminator is not None:
        largest = max(largest, activation_bytes(getattr(discriminator, "features", discriminator), generator(z)))
    return largest


@torch.no_grad()
def seconds_per_image(generator: nn.Module, discriminator: nn.Module | None = None, classify=None) -> float:
    """Time G (then D and ``classify``, a function of uint8 images, where given) on PROBE_IMAGES images, twice: the
    first pass also warms the kernels up, so the faster one is the machine's speed. Time is this thread's CPU time:
    the work itself, not how busy the machine was at that moment (other sessions, a training run), which a
    measurement kept for the server's life should not remember."""
    z = torch.randn(PROBE_IMAGES, generator.config.latent_dim, generator=torch.Generator().manual_seed(0))
    z = z.to(next(generator.parameters()).device)
    timings = []
    for _ in range(2):
        started = time.thread_time()
        images = generator(z)
        if discriminator is not None:
            discriminator(images)
        if classify is not None:
            classify(to_uint8(images))
        timings.append(time.thread_time() - started)
    return min(timings) / PROBE_IMAGES


def tsne_seconds(points: int, iterations: int, perplexity: float) -> float:
    """An upper estimate of a t-SNE's own time (after its features exist); its neighbour lists grow with perplexity."""
    return max(0, int(points)) * max(0, int(iterations)) * TSNE_SECONDS_PER_POINT_ITERATION * max(1.0, perplexity / 30)
