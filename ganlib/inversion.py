"""Projection: the latent z whose image G(z) looks most like a given picture (GAN inversion).

``project(generator, images)`` optimises z with Adam from several starting points at once (every image times every
restart in one batch) and keeps, per image, the start that ended with the lowest loss:

    loss(z) = pixel_weight * mean (G(z) - x)^2                        pixels in [-1, 1]
            + feature_weight * |f(G(z)) - f(x)|^2 / |f(x)|^2          a perceptual term, when there is an f
            + prior_weight * (|z| / sqrt(d) - 1)^2                     keeps z where G was trained: near the sphere

f is the attribute classifier's embedding where the data set has one (the bundled toonfaces classifier: keeping
what it sees keeps the attributes), else the discriminator's (``Discriminator.embed``) where the file has D, else
there is none and the loss is pixels and prior only. Pixels alone match colours and blur the rest; a
perceptual term keeps sunglasses sunglasses.

With an ``encoder`` (ganlib.encoder), the first start of every image is E(x), a good guess from one forward pass,
and the other starts are random; without one, all starts are random draws z ~ N(0, I) from ``seed``. The result
is a float vector, not a seed: ganlib.latent_code turns it into text for a link.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .image_files import fit_images
from .images import generate

PERCEPTUAL_KINDS = ("classifier", "discriminator", "pixels")
CLASSIFIER_INPUT = 64  # the attribute classifier reads 64 x 64 (ganlib.classifier.INPUT_SIZE)
# A reconstruction is judged against what chance gives: the best PSNR that CHANCE_SAMPLES random samples (seeded,
# the same for every picture) reach against the same picture. On toonfaces64 (2 x 150 from the encoder) a held-out
# face came back at 24.2 dB against a best random 12.2 dB, a model sample at 30.6 against 11.7, while a gradient
# (10.7 against 10.5) and a smooth colour pattern (11.6 against 11.4) came back as a generic face no closer than
# the best random one: a margin of a few dB separates the two kinds widely.
CHANCE_SAMPLES = 16
CHANCE_SEED = 0
CHANCE_MARGIN_DB = 3.0


class NonFiniteProjection(ValueError):
    """No start of some images (``rows``, 0-based) ended at a finite latent whose image is finite."""

    def __init__(self, rows: list[int]):
        more = f" and {len(rows) - 1} more" if len(rows) > 1 else ""
        super().__init__(
            f"image {rows[0] + 1}{more} ended at NaN or infinite latents: the generator's images or gradients are "
            "not finite there"
        )
        self.rows = rows


@dataclass(frozen=True)
class Projection:
    latents: torch.Tensor  # [N, latent_dim] float32: the best z per image
    reconstructions: np.ndarray  # uint8 [N, S, S, 3]: G(z) (grey models repeated to RGB, as ganlib.images does)
    targets: np.ndarray  # uint8 [N, S, S, C]: the inputs as the model saw them (cropped, resized, converted)
    psnr: np.ndarray  # [N] dB between reconstruction and target, 8-bit peak
    pixel_mse: np.ndarray  # [N] mean squared pixel error, images in [-1, 1]
    feature_distance: np.ndarray  # [N] |f(G(z)) - f(x)|^2 / |f(x)|^2; NaN with pixels only
    perceptual: str  # which f: "classifier", "discriminator" or "pixels" (none)
    start: str  # "encoder" (first start E(x)) or "random"
    steps: int
    restarts: int
    seconds: float


def psnr(reconstructions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB, for uint8 [N, H, W, C] pairs (C may differ: 1 vs 3 grey)."""
    channels = min(reconstructions.shape[-1], targets.shape[-1])
    error = (reconstructions[..., :channels].astype(np.float64) - targets[..., :channels].astype(np.float64)) ** 2
    mse = error.reshape(len(error), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0**2 / mse)


def chance_psnr(generator, targets: np.ndarray, samples: int = CHANCE_SAMPLES, seed: int = CHANCE_SEED) -> np.ndarray:
    """[N]: per target (uint8 [N, S, S, C] at the model's size, as Projection.targets), the best PSNR that any of
    ``samples`` random samples G(z), z ~ N(0, I) from ``seed``, reaches against it."""
    z = torch.randn(samples, generator.config.latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        images = generate(generator, z)
    return np.array([psnr(images, np.repeat(target[None], samples, axis=0)).max() for target in targets])


def no_closer_than_chance(psnr_db: float, chance_db: float, margin_db: float = CHANCE_MARGIN_DB) -> bool:
    """Whether a reconstruction at ``psnr_db`` is no real match for its picture: not at least ``margin_db`` closer
    than the best random sample (``chance_db``, from chance_psnr). Such a picture is far from anything the model
    makes, and what came back is a generic image of the model's, not the picture. A NaN counts as no match."""
    return not psnr_db >= chance_db + margin_db


def _perceptual(generator, classifier, discriminator) -> tuple[str, Callable | None, list]:
    """(kind, f, modules f uses): the classifier if given, else D if given, else none."""
    if classifier is not None and generator.config.channels == 3:

        def embed(x):
            if x.shape[-1] != CLASSIFIER_INPUT:
                downsampling = x.shape[-1] > CLASSIFIER_INPUT
                x = F.interpolate(
                    x, size=CLASSIFIER_INPUT, mode="bilinear", align_corners=False, antialias=downsampling
                )
            return classifier.embed(x)

        return "classifier", embed, [classifier]
    if discriminator is not None:
        return "discriminator", discriminator.embed, [discriminator]
    return "pixels", None, []


@contextmanager
def _frozen(modules):
    """Eval mode and no parameter gradients while z is optimised; each module's flags restored afterwards."""
    saved = [(module, module.training, [p.requires_grad for p in module.parameters()]) for module in modules]
    try:
        for module in modules:
            module.eval().requires_grad_(False)
        yield
    finally:
        for module, training, flags in saved:
            module.train(training)
            for parameter, flag in zip(module.parameters(), flags):
                parameter.requires_grad_(flag)


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _starts(targets, restarts, latent_dim, seed, encoder) -> torch.Tensor:
    """[N, restarts, d]: image i's random starts from seed + i (whatever the batches), so that its first start is
    the same with 1 restart or 8; restart 0 is E(x) when there is an encoder."""
    z = torch.stack(
        [
            torch.randn(restarts, latent_dim, generator=torch.Generator().manual_seed(seed + i))
            for i in range(len(targets))
        ]
    ).to(targets.device)
    if encoder is not None:
        with torch.no_grad():
            z[:, 0] = encoder.eval()(targets)
    return z


def _losses(generator, embed, z, target, target_features, weights) -> tuple[torch.Tensor, ...]:
    """Per row of z: (total, pixel MSE, feature distance) against its target row."""
    pixel_weight, feature_weight, prior_weight = weights
    images = generator(z)
    pixel = (images - target).square().flatten(1).mean(1)
    total = pixel_weight * pixel
    if embed is not None:
        feature = (embed(images) - target_features).square().sum(1) / (target_features.square().sum(1) + 1e-8)
        total = total + feature_weight * feature
    else:
        feature = torch.full_like(pixel, math.nan)
    prior = (z.norm(dim=1) / math.sqrt(z.shape[1]) - 1).square()
    return total + prior_weight * prior, pixel, feature


def _cosine(step: int, steps: int) -> float:
    """The learning rate's factor: from 1 down a half cosine to 0.1 at the last step."""
    return 0.1 + 0.45 * (1 + math.cos(math.pi * min(step, steps) / steps))


def project(
    generator,
    images: np.ndarray,
    *,
    steps: int = 200,
    restarts: int = 8,
    seed: int = 0,
    encoder=None,
    classifier=None,
    discriminator=None,
    learning_rate: float = 0.05,
    pixel_weight: float = 1.0,
    feature_weight: float = 1.0,
    prior_weight: float = 0.05,
    batch_rows: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """The latents whose images best match ``images`` (uint8 [N, H, W] or [N, H, W, C], any size: centre-cropped
    and resized to the model's). ``steps`` Adam steps (cosine-decayed learning rate) from ``restarts`` starts per
    image; the rows of all images' starts are optimised together, ``batch_rows`` at a time.
    ``progress(done, total)`` after every step of every batch. Raises NonFiniteProjection rather than return a
    latent, or a latent whose image, that is not finite."""
    if not 1 <= steps <= 100_000 or not 1 <= restarts <= 256:
        raise ValueError(f"steps must be from 1 to 100,000 and restarts from 1 to 256, got {steps} and {restarts}")
    started = time.perf_counter()
    config = generator.config
    targets_uint8 = fit_images(images, config.image_size, config.channels)
    if not len(targets_uint8):
        raise ValueError("no images to project")
    device = next(generator.parameters()).device  # the classifier, D and encoder are expected on the same one
    targets = _to_tensor(targets_uint8).to(device)
    kind, embed, perceptual_modules = _perceptual(generator, classifier, discriminator)
    weights = (pixel_weight, feature_weight, prior_weight)
    per_batch = max(1, batch_rows // restarts)
    batches = [range(start, min(start + per_batch, len(targets))) for start in range(0, len(targets), per_batch)]
    best = torch.empty(len(targets), config.latent_dim, device=device)
    pixel_mse, distance = torch.empty(len(targets), device=device), torch.empty(len(targets), device=device)
    done, total = 0, steps * len(batches)
    with _frozen([generator, *perceptual_modules] + ([encoder] if encoder is not None else [])):
        for batch in batches:
            target = targets[batch.start : batch.stop]
            z0 = _starts(target, restarts, config.latent_dim, seed + batch.start, encoder)
            rows = target.repeat_interleave(restarts, dim=0)
            with torch.no_grad():
                own = embed(target) if embed is not None else None
            features = own.repeat_interleave(restarts, dim=0) if own is not None else None
            z = z0.reshape(-1, config.latent_dim).clone().requires_grad_(True)
            optimizer = torch.optim.Adam([z], lr=learning_rate)
            schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _cosine(step, steps))
            for _ in range(steps):
                loss = _losses(generator, embed, z, rows, features, weights)[0].sum()  # rows are independent
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                done += 1
                if progress is not None:
                    progress(done, total)
            with torch.no_grad():
                final = _losses(generator, embed, z, rows, features, weights)[0].reshape(len(target), restarts)
                # a start whose z or loss went NaN or infinite never wins over one that stayed finite
                usable = torch.isfinite(z).all(dim=1).reshape(len(target), restarts) & torch.isfinite(final)
                final = torch.where(usable, final, torch.inf)
                chosen = z.detach().reshape(len(target), restarts, -1)[torch.arange(len(target)), final.argmin(dim=1)]
                _, pixel, feature = _losses(generator, embed, chosen, target, own, weights)
                best[batch.start : batch.stop] = chosen
                pixel_mse[batch.start : batch.stop], distance[batch.start : batch.stop] = pixel, feature
        failed = ~torch.isfinite(best).all(dim=1) | ~torch.isfinite(pixel_mse)  # every start of these diverged
        if bool(failed.any()):
            raise NonFiniteProjection(failed.nonzero().flatten().tolist())
        reconstructions = generate(generator, best)
    return Projection(
        latents=best.cpu(),
        reconstructions=reconstructions,
        targets=targets_uint8,
        psnr=psnr(reconstructions, targets_uint8),
        pixel_mse=pixel_mse.cpu().numpy(),
        feature_distance=distance.cpu().numpy(),
        perceptual=kind,
        start="encoder" if encoder is not None else "random",
        steps=steps,
        restarts=restarts,
        seconds=time.perf_counter() - started,
    )
