"""Latent maps: what a generator computes for many seeds, projected to 2-D with PCA or t-SNE.

PCA of raw z ~ N(0, I) is a shapeless blob (every direction has the same variance, and nearby z need not give
similar images). A useful map projects something the networks computed from z: the discriminator's penultimate
features (as the DCGAN paper's feature studies), the generator's early activations (GANSpace), the attribute
classifier's probabilities, or the pixels themselves; then colour or thumbnails show what lives where.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

METHODS = ("pca", "tsne")
FEATURE_SPACES = ("z", "discriminator", "generator", "attributes", "pixels")
REDUCED_DIMS = 50  # t-SNE runs on a PCA-50 summary: much faster on wide features, and it removes noise
PIXEL_SIDE = 16  # "pixels" compares images downscaled to 16 x 16 (area average), so the map is about layout and colour
GENERATOR_POOL = 2  # early generator activations are pooled to 2 x 2: keeps coarse layout, drops 75% of the width
# Barnes-Hut accuracy: 1.0, the coarsest scikit-learn accepts (its default is 0.5), spends 15-20% less CPU than 0.8
# and a third to a half less than 0.5 on 2,000 points of the bundled model's D features, and keeps the map's
# trustworthiness within 0.01 of theirs (benchmarks/bench_tsne.py; tests/test_projection.py checks it on digits)
TSNE_ANGLE = 1.0
# scikit-learn's t-SNE gradient and k-means run on OpenMP threads, one per core by default. On the 2-core machines
# here, with a training run or another session busy, two threads waiting for each other made t-SNE of 2,000 points
# cost 14-15 CPU-seconds (21-23 s wall) against 5 on one thread; see _one_thread.
MIN_TSNE_ITERATIONS = 250  # scikit-learn's floor: its first 250 steps are the early-exaggeration phase

Progress = Callable[[float, str], None]  # (fraction done in [0, 1], what is happening now)


# ---------------------------------------------------------------------------------------------------- projection
def standardise(features: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns stay 0), so no feature dominates by its scale."""
    features = np.asarray(features, dtype=np.float64)
    spread = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


def reduce(features: np.ndarray, dims: int = REDUCED_DIMS, seed: int = 0) -> np.ndarray:
    """Standardise, then PCA to at most ``dims`` components (narrower features are only standardised)."""
    from sklearn.decomposition import PCA

    features = _check_features(features)
    scaled = standardise(features)
    components = min(dims, scaled.shape[1], scaled.shape[0])
    if components == scaled.shape[1]:
        return scaled
    return PCA(n_components=components, random_state=seed).fit_transform(scaled)


def project(
    features: np.ndarray,
    method: str = "pca",
    seed: int = 0,
    perplexity: float = 30,
    iterations: int = 1000,
    progress: Progress | None = None,
) -> np.ndarray:
    """2-D coordinates [N, 2] (float32) of N feature vectors [N, F].

    Features are standardised first. "pca" keeps the two directions of largest variance; "tsne" (Barnes-Hut)
    runs on a PCA-50 summary, initialised from its first two components, so clusters are local neighbourhoods and
    the result is reproducible from ``seed``. scikit-learn's t-SNE cannot report progress while it runs, so
    ``progress`` hears coarse stages: standardise, PCA, t-SNE, done.
    """
    report = progress or (lambda fraction, message: None)
    features = _check_features(features)
    count = len(features)
    check_parameters(count, method, perplexity, iterations)
    report(0.0, f"Standardising {count} x {features.shape[1]} features")
    if method == "pca":
        report(0.1, "PCA to 2 dimensions")
        coordinates = _plane(_pca(features, seed).fit_transform(standardise(features)))
        report(1.0, "Done")
        return coordinates
    report(0.05, f"PCA to {min(REDUCED_DIMS, features.shape[1])} dimensions")
    summary = reduce(features, seed=seed)
    report(0.15, f"t-SNE of {count} points (perplexity {perplexity:g}, {iterations} iterations)")
    coordinates = _tsne(summary, seed, perplexity, iterations)
    report(1.0, "Done")
    return coordinates.astype(np.float32)


def place(features: np.ndarray, new_features: np.ndarray, seed: int = 0) -> np.ndarray:
    """Where points that were not part of a PCA map land on it: [M, 2] (float32) for ``new_features`` [M, F], on
    the map that ``project(features, "pca", seed)`` draws (the map's standardisation and components, refitted
    from the same features, applied to the new ones). t-SNE has no such transform: a point it was not fitted on
    has no place on its map."""
    features = _check_features(features)
    new_features = np.asarray(new_features, dtype=np.float64)
    if new_features.ndim != 2 or new_features.shape[1] != features.shape[1]:
        raise ValueError(f"new features must be [points, {features.shape[1]}], got shape {new_features.shape}")
    if not np.isfinite(new_features).all():
        raise ValueError("new features contain NaN or infinite values")
    mean, spread = features.mean(axis=0), features.std(axis=0)
    scaled = (new_features - mean) / np.where(spread > 0, spread, 1.0)
    return _plane(_pca(features, seed).fit(standardise(features)).transform(scaled))


def _pca(features: np.ndarray, seed: int):
    from sklearn.decomposition import PCA

    return PCA(n_components=min(2, features.shape[1]), random_state=seed)


def _plane(coordinates: np.ndarray) -> np.ndarray:
    """[N, 2] float32; a single feature makes the map a line."""
    if coordinates.shape[1] < 2:
        coordinates = np.column_stack([coordinates, np.zeros(len(coordinates))])
    return coordinates.astype(np.float32)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """scikit-learn's OpenMP and BLAS work on one thread for the duration (the previous limits are restored).

    The dashboard shares a small CPU with training runs and other sessions: there, extra threads spin while waiting
    for a core instead of speeding anything up (the same finding as torch's thread count in services.py and the
    toy GAN's)."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(limits=1):
        yield


def _tsne(summary: np.ndarray, seed: int, perplexity: float, iterations: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    # init="pca" starts from the two main directions (scaled down), so the global layout is stable across runs
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        max_iter=iterations,
        init="pca",
        learning_rate="auto",
        method="barnes_hut",
        angle=TSNE_ANGLE,
        random_state=seed,
    )
    with _one_thread():
        return tsne.fit_transform(summary.astype(np.float32))


def _check_features(features) -> np.ndarray:
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-D array [points, features], got shape {features.shape}")
    if len(features) < 3:
        raise ValueError(f"a map needs at least 3 points, got {len(features)}")
    if features.shape[1] < 1:
        raise ValueError("features must have at least one column")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinite values")
    return features


def check_parameters(count: int, method: str, perplexity: float = 30, iterations: int = 1000) -> None:
    """Raise ValueError with a clear message for parameters ``project`` would refuse (call it before heavy work)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if count < 3:
        raise ValueError(f"a map needs at least 3 points, got {count}")
    if method != "tsne":
        return
    if not perplexity > 0:
        raise ValueError(f"perplexity must be positive, got {perplexity}")
    if perplexity >= count:
        raise ValueError(
            f"perplexity ({perplexity:g}) must be smaller than the number of points ({count}); "
            f"about 5-50 works, and at most a third of the points"
        )
    if iterations < MIN_TSNE_ITERATIONS:
        raise ValueError(f"t-SNE needs at least {MIN_TSNE_ITERATIONS} iterations, got {iterations}")


def kmeans_labels(points: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster index in [0, k) for each row of ``points`` (2-D map coordinates or features), reproducible from seed."""
    from sklearn.cluster import KMeans

    points = _check_features(points)
    if not 1 <= k <= len(points):
        raise ValueError(f"k must be between 1 and the number of points ({len(points)}), got {k}")
    with _one_thread():
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(points.astype(np.float64))
    return labels.astype(np.int64)


def atlas_cells(coordinates: np.ndarray, cells: int = 10) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Where to put thumbnails on a map: the bounding box is cut into cells x cells, and each occupied cell gets
    the point nearest its centre. Returns (point indices [M], cell centres [M, 2], cell (width, height))."""
    coordinates = np.asarray(coordinates, dtype=np.float64)
    if coordinates.ndim != 2 or coordinates.shape[1] != 2:
        raise ValueError(f"coordinates must be [N, 2], got shape {coordinates.shape}")
    if cells < 1:
        raise ValueError(f"cells must be positive, got {cells}")
    if len(coordinates) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 2)), (1.0, 1.0)
    low, high = coordinates.min(axis=0), coordinates.max(axis=0)
    size = np.where(high > low, (high - low) / cells, 1.0)
    cell = np.minimum(((coordinates - low) / size).astype(np.int64), cells - 1)  # the max lands in the last cell
    centres = low + (cell + 0.5) * size
    distance = ((coordinates - centres) / size) ** 2
    order = np.lexsort((distance.sum(axis=1), cell[:, 1], cell[:, 0]))  # by cell, nearest to the centre first
    keys = cell[order, 0] * cells + cell[order, 1]
    first = np.r_[True, keys[1:] != keys[:-1]]
    chosen = order[first]
    return chosen.astype(np.int64), centres[chosen], (float(size[0]), float(size[1]))


# ---------------------------------------------------------------------------------------------------- feature spaces
@dataclass(frozen=True)
class MapPoints:
    """Everything a latent map shows about its seeds, computed in one batched pass through G (and D)."""

    seeds: np.ndarray  # int64 [N]
    features: np.ndarray  # float32 [N, F] in the chosen feature space
    norms: np.ndarray  # ||z|| [N]
    d_scores: np.ndarray | None  # D(G(z)) [N], None without a discriminator
    attributes: dict[str, np.ndarray] | None  # attribute -> [N, classes] probabilities, None without a classifier
    seconds: float  # how long the pass took


def join_points(parts: Sequence[MapPoints]) -> MapPoints:
    """One MapPoints of consecutive parts (computed apart, say, and cached piece by piece): the seeds of each part
    follow the previous part's, and ``seconds`` is what the parts took together."""
    if not parts:
        raise ValueError("nothing to join: no map points given")
    if len(parts) == 1:
        return parts[0]
    attributes = None
    if parts[0].attributes is not None:
        attributes = {name: np.concatenate([part.attributes[name] for part in parts]) for name in parts[0].attributes}
    return MapPoints(
        seeds=np.concatenate([part.seeds for part in parts]),
        features=np.concatenate([part.features for part in parts]),
        norms=np.concatenate([part.norms for part in parts]),
        d_scores=None if parts[0].d_scores is None else np.concatenate([part.d_scores for part in parts]),
        attributes=attributes,
        seconds=sum(part.seconds for part in parts),
    )


def available_spaces(explorer) -> tuple[str, ...]:
    """The feature spaces this explorer can compute (D and classifier are optional)."""
    return tuple(
        space
        for space in FEATURE_SPACES
        if not (space == "discriminator" and explorer.discriminator is None)
        and not (space == "attributes" and explorer.classifier is None)
    )


@torch.no_grad()
def map_points(
    explorer,
    seeds: Sequence[int],
    space: str,
    batch_size: int | None = None,
    scores: bool = True,
    progress: Progress | None = None,
) -> MapPoints:
    """Features in ``space`` plus the colour values (||z||, D score, attribute probabilities) of each seed.

    space: "z" raw latents; "discriminator" D's penultimate features of G(z), average-pooled; "generator" G's
    activations after its first block (4 x 4), pooled to 2 x 2 (GANSpace looks at early layers); "attributes" the
    classifier's probabilities; "pixels" images downscaled to 16 x 16. Images are made once per batch and shared,
    ``batch_size`` at a time (by default the explorer's, which fits ganlib.budget's memory budget).
    """
    batch_size = batch_size or explorer.batch_size
    _check_space(explorer, space, batch_size)
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    seeds = np.asarray([int(seed) for seed in seeds], dtype=np.int64)
    z = explorer.latents(seeds.tolist())
    features, d_scores, attributes = _pass(explorer, z, space, batch_size, scores, report)
    report(1.0, "Done")
    return MapPoints(
        seeds=seeds,
        features=features,
        norms=z.norm(dim=1).numpy(),
        d_scores=torch.cat(d_scores).numpy() if d_scores else None,
        attributes={name: np.concatenate([batch[name] for batch in attributes]) for name in attributes[0]}
        if scores and attributes
        else None,
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def latent_features(explorer, z: torch.Tensor, space: str, batch_size: int | None = None) -> np.ndarray:
    """The features [N, F] of any latents [N, d] (projected ones, say) in ``space``, as map_points computes
    them for seeds, so that ``place`` can put them on a seed map."""
    batch_size = batch_size or explorer.batch_size
    _check_space(explorer, space, batch_size)
    return _pass(explorer, z, space, batch_size, False, lambda fraction, message: None)[0]


def _check_space(explorer, space: str, batch_size: int) -> None:
    if space not in FEATURE_SPACES:
        raise ValueError(f"feature space must be one of {', '.join(FEATURE_SPACES)}, got {space!r}")
    if space == "discriminator" and explorer.discriminator is None:
        raise ValueError("the discriminator feature space needs a checkpoint saved with its discriminator")
    if space == "attributes" and explorer.classifier is None:
        raise ValueError(
            f"the attributes feature space needs an attribute classifier; "
            f"none is available for data set {explorer.dataset_name!r}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")


def _pass(explorer, z, space, batch_size, scores, report) -> tuple[np.ndarray, list, list]:
    """(features float32 [N, F], D-score batches, attribute-probability batches) from one batched pass."""
    generator, discriminator = explorer.generator, explorer.discriminator
    need_images = space != "z" or scores
    first_block = _first_block(generator) if space == "generator" else None
    features, d_scores, attributes = [], [], []
    for start in range(0, len(z), batch_size):
        report(start / max(1, len(z)), f"Generating images {start + 1}-{min(len(z), start + batch_size)} of {len(z)}")
        batch = z[start : start + batch_size]
        images = generator(batch) if need_images else None
        d_features = discriminator.features(images) if discriminator is not None and images is not None else None
        uint8 = None
        if space == "attributes" or (scores and explorer.classifier is not None):
            from .images import to_uint8

            uint8 = to_uint8(images)
        if space == "z":
            features.append(batch)
        elif space == "discriminator":
            features.append(d_features.mean(dim=(2, 3)))  # = Discriminator.embed, sharing the pass with the score
        elif space == "generator":
            features.append(F.adaptive_avg_pool2d(first_block(batch[:, :, None, None]), GENERATOR_POOL).flatten(1))
        elif space == "pixels":
            features.append(F.adaptive_avg_pool2d(images, min(PIXEL_SIDE, images.shape[-1])).flatten(1))
        if scores and d_features is not None:
            d_scores.append(torch.sigmoid(discriminator.head(d_features)).flatten())  # = Discriminator.probability
        if uint8 is not None:
            attributes.append(explorer.attribute_probabilities(uint8))
    if space == "attributes":
        features = [torch.from_numpy(_attribute_matrix(probabilities)) for probabilities in attributes]
    array = torch.cat(features).float().numpy() if features else np.zeros((0, 0), np.float32)
    return array, d_scores, attributes


def _first_block(generator: nn.Module) -> nn.Module:
    """G's layers up to its first activation (DCGAN: ConvTranspose -> BatchNorm -> ReLU, the 4 x 4 block)."""
    layers = list(generator.net)
    end = next(i for i, layer in enumerate(layers) if isinstance(layer, (nn.ReLU, nn.LeakyReLU))) + 1
    return nn.Sequential(*layers[:end])


def _attribute_matrix(probabilities: dict[str, np.ndarray]) -> np.ndarray:
    """One column per binary attribute (P(yes)) and one per class of the others: [N, columns] float32."""
    columns = [probs[:, 1:] if probs.shape[1] == 2 else probs for probs in probabilities.values()]
    return np.concatenate(columns, axis=1).astype(np.float32)
