"""The dashboard's only caching layer: models are loaded once per file version (st.cache_resource), and results
are memoised by the plain values that produce them (st.cache_data; unhashable arguments are prefixed ``_``
and identified by the checkpoint key passed beside them).

Pages call these functions with seeds and parameters and get numpy arrays and numbers back; no page touches torch.
This is also the pages' only door to ganlib: the few ganlib names a page needs (an error to catch, a type to
annotate with, the toy game's constants) are re-exported here, and training runs are reached through thin
functions that know where the runs folder is.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

# ``X as X`` marks a ganlib name re-exported for the pages, which reach ganlib only through this module.
import ganlib
from dashboard import first_run
from dashboard.state import COMPONENT_STRENGTH_RANGE, COMPONENT_STRENGTH_STEP
from ganlib import budget, catalog, component_effects, inversion, projection, runs
from ganlib.catalog import Catalog
from ganlib.checkpoint import CheckpointError as CheckpointError
from ganlib.checkpoint import read_metadata
from ganlib.component_effects import NamedComponent as NamedComponent
from ganlib.component_effects import measure_chance, named_components
from ganlib.components import closest_other
from ganlib.config import LOSS_LABELS as LOSS_LABELS
from ganlib.config import LOSSES as LOSSES
from ganlib.config import TrainConfig
from ganlib.data.digits import load_digits
from ganlib.data.toonfaces import HELD_OUT_SEED, render_toonfaces
from ganlib.directions import (
    CONFIDENT,
    DEFAULT_MEASURE_SEED,
    PER_FACE_MAX_STRENGTH,
    attribute_probability,
    per_face_strength,
)
from ganlib.encoder import encoder_path, find_encoder
from ganlib.explorer import LABEL_BLOCK, Explorer
from ganlib.guided_edit import keep_person
from ganlib.image_files import MAX_FILE_BYTES, read_image
from ganlib.image_files import ImageFileError as ImageFileError
from ganlib.inversion import NonFiniteProjection as NonFiniteProjection
from ganlib.latent_code import MAX_DIM, LatentCodeError, decode_latent, encode_latent
from ganlib.losses import LOG_2 as LOG_2
from ganlib.losses import LOG_4 as LOG_4
from ganlib.picture_cache import Expected, PictureCache
from ganlib.picture_cache import picture_root as picture_root
from ganlib.project_command import WITH_ENCODER
from ganlib.runs import Progress as Progress
from ganlib.runs import RunBusy as RunBusy
from ganlib.runs import RunError as RunError
from ganlib.runs import RunHandle as RunHandle
from ganlib.runs import RunSummary as RunSummary
from ganlib.toy import PRESETS as PRESETS
from ganlib.toy import GeneratorLossCurves, ToyConfig, generator_loss_curves
from ganlib.toy import ToyGAN as ToyGAN

PACKAGE = Path(__file__).resolve().parent
MAX_LINK_LATENT_DIM = MAX_DIM  # the longest latent a link (and so a pin of your image) can hold
ROOT = PACKAGE.parent
# A clone (make run, pip install -e .) keeps the bundled checkpoints in checkpoints/ and its runs in runs/ at the
# repository root. Installed from a wheel (`ganlib dashboard`), this folder sits in site-packages: the checkpoints
# travel as dashboard/checkpoints/ (pyproject.toml) and runs default to ./runs, as `ganlib train` writes them.
IN_CLONE = (ROOT / "pyproject.toml").is_file()

MAX_UPLOAD_MB = catalog.MAX_UPLOAD_BYTES >> 20
# Bundled files opened first, in this order of preference: toonfaces is the arithmetic demo the app is built around
DEFAULT_CHECKPOINTS = ("toonfaces64.safetensors", "toonfaces32.safetensors")


def checkpoint_dir() -> Path:
    """Bundled checkpoints; GANLIB_CHECKPOINTS points elsewhere (tests, a shared model folder)."""
    return Path(os.environ.get("GANLIB_CHECKPOINTS", ROOT / "checkpoints" if IN_CLONE else PACKAGE / "checkpoints"))


def runs_dir() -> Path:
    """Training runs started from the sidebar or the CLI; GANLIB_RUNS points elsewhere."""
    return Path(os.environ.get("GANLIB_RUNS", (ROOT if IN_CLONE else Path.cwd()) / "runs"))


def upload_dir() -> Path:
    """Uploaded checkpoints, in a folder nothing else reads; GANLIB_UPLOADS points elsewhere (beside the runs
    folder by default, so that tests that move the runs move the uploads too)."""
    return Path(os.environ.get("GANLIB_UPLOADS", runs_dir().parent / "uploads"))


def checkpoints() -> Catalog:
    return Catalog(checkpoint_dir(), runs_dir(), upload_dir(), preferred=DEFAULT_CHECKPOINTS)


def list_checkpoints() -> list[catalog.Entry]:
    """Bundled files first (the default one at the top), then finished runs, then uploads; each has an ``id``."""
    return checkpoints().entries()


def checkpoint_path(key: str) -> Path:
    """The file behind a checkpoint id. Anything the catalog does not list gets the same one answer, so a link
    cannot probe which files exist."""
    entry = checkpoints().find(key)
    if entry is None:
        raise CheckpointError("checkpoint", "not one this app lists")
    return entry.path


def cli_path(key: str) -> str:
    """The checkpoint's file as the CLI and Python snippets name it: relative to the repository where it lies
    inside, as the README's commands are run from there (installed: relative to the folder the app was started in)."""
    path = checkpoint_path(key)
    try:
        return str(path.resolve().relative_to(ROOT if IN_CLONE else Path.cwd()))
    except ValueError:
        return str(path)


def is_listed(key: str) -> bool:
    return checkpoints().find(key) is not None


def save_upload(name: str, data: bytes) -> str:
    """Validate an uploaded checkpoint, keep it among the uploads and return its id; raise CheckpointError (and keep
    nothing) if it is not usable. Nothing is unpickled: the file is checked exactly as any checkpoint is loaded."""
    return checkpoints().add_upload(name, data, validate=Explorer.from_checkpoint).id


def file_version(key: str) -> float:
    """Part of every cache key that must change when a file is rewritten (a training run's generator)."""
    return checkpoint_path(key).stat().st_mtime


_seen_versions: dict[str, float] = {}  # process-wide, like the caches it guards


def forget_stale_results(path: str) -> None:
    """Results (st.cache_data) are cached by checkpoint key alone; a training run rewrites its generator file every
    few minutes under the same key. Called once per script run, before any page: when the open file changed on
    disk, drop the cached results. (The loaded model, a cache_resource, is keyed by file_version instead.)"""
    try:
        version = file_version(path)
    except (OSError, CheckpointError):
        return
    if _seen_versions.setdefault(path, version) != version:
        _seen_versions[path] = version
        st.cache_data.clear()


@st.cache_resource(max_entries=6, show_spinner="Loading the model...")
def _load_explorer(path: str, version: float) -> Explorer:
    # One torch thread: the dashboard shares the CPU with the training runs it launches, and oversubscribed
    # OpenMP threads slow everyone down several times over (README, "Development"). GANLIB_THREADS overrides it.
    torch.set_num_threads(int(os.environ.get("GANLIB_THREADS", "1")))
    return Explorer.from_checkpoint(checkpoint_path(path))


def explorer(path: str) -> Explorer:
    """The model for a checkpoint id, loaded once per file version. Raises CheckpointError for a bad file."""
    return _load_explorer(path, file_version(path))


@st.cache_data(max_entries=32, show_spinner=False)
def metadata(path: str) -> dict:
    return read_metadata(checkpoint_path(path))


def latents_of(model: Explorer, points) -> torch.Tensor:
    """[N, d] latents of ``points``: each a seed (int) or a projected latent's code (str, ganlib.latent_code). The
    pages pass codes that the sidebar has checked (latent_code_problems); a bad one raises LatentCodeError."""
    if all(isinstance(point, int) for point in points):
        return model.latents(points)
    return torch.stack(
        [
            decode_latent(point, model.latent_dim) if isinstance(point, str) else model.latents([point])[0]
            for point in points
        ]
    )


def kept_on_disk(expected, to_arrays=lambda images: {"images": images}, from_arrays=None, depends=None):
    """Decorator for a function of (path, *view) that draws a view: what it returns is also kept on disk by the
    checkpoint's content and the view (ganlib.picture_cache), so that a restarted server draws a view it has drawn
    before without generating it. ``expected(model, **view)`` is what a kept file must hold ({name: Expected}) to be
    used; ``to_arrays(result)`` and ``from_arrays(arrays, model, **view)`` convert (default: one uint8 array); the
    result ``depends(path, **view)`` on besides the arguments joins the file's key (an edit's direction)."""

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def drawn(path: str, *args, **kwargs):
            model = explorer(path)
            if model.cache is None:  # an explorer that keeps nothing on disk
                return function(path, *args, **kwargs)
            bound = signature.bind(path, *args, **kwargs)
            bound.apply_defaults()
            view = dict(list(bound.arguments.items())[1:])
            key = {**view, **(depends(path, **view) if depends else {}), "ganlib": ganlib.__version__}
            store = PictureCache(picture_root(), model.cache.key, model.cache.shipped)
            kept = store.get(function.__name__, key, expected(model, **view))
            if kept is not None:
                return from_arrays(kept, model, **view) if from_arrays else kept["images"]
            result = function(path, *args, **kwargs)
            store.put(function.__name__, key, to_arrays(result))
            return result

        return drawn

    return decorate


def _direction_used(path: str, attribute: str, method: str, conditional: bool, **view) -> dict:
    """What an edit's pictures depend on besides the arguments: the direction itself (another classifier, another
    fit or another meaning of its strength gives another vector)."""
    direction = _direction(path, attribute, method, conditional)
    vector = np.ascontiguousarray(direction.vector, dtype=np.float32)
    return {"direction": hashlib.sha256(vector.tobytes()).hexdigest(), "unit": float(direction.class_distance)}


def _images(count: int, model: Explorer, *variants: int) -> Expected:
    return Expected((count, *variants, model.image_size, model.image_size, 3), np.uint8)


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # uint8 [N, H, W, 3]
    seeds: tuple[int, ...]
    d_scores: np.ndarray | None  # D(G(z)) per image
    attributes: dict[str, np.ndarray] | None  # attribute -> [N, classes] probabilities
    classes: dict[str, list[str]]  # attribute -> class names, in probability column order
    norms: np.ndarray  # ||z|| after truncation


def _samples_expected(model: Explorer, seeds, truncation) -> dict[str, Expected]:
    n = len(seeds)
    expected = {"images": _images(n, model), "norms": Expected((n,), np.float32, 0.0)}
    if model.discriminator is not None:
        expected["d_scores"] = Expected((n,), np.float32, 0.0, 1.0)
    for name, classes in model.attributes.items():
        expected[f"p_{name}"] = Expected((n, len(classes)), np.float32, 0.0, 1.0)
    return expected


def _samples_arrays(result: Samples) -> dict[str, np.ndarray]:
    arrays = {"images": result.images, "norms": result.norms}
    if result.d_scores is not None:
        arrays["d_scores"] = result.d_scores
    arrays.update({f"p_{name}": values for name, values in (result.attributes or {}).items()})
    return arrays


def _samples_from(arrays: dict, model: Explorer, seeds, truncation) -> Samples:
    attributes = {name: arrays[f"p_{name}"] for name in model.attributes} if model.classifier is not None else None
    return Samples(
        arrays["images"], tuple(seeds), arrays.get("d_scores"), attributes, model.attributes, arrays["norms"]
    )


@st.cache_data(max_entries=64, show_spinner=False)
@kept_on_disk(_samples_expected, _samples_arrays, _samples_from)
def samples(path: str, seeds: tuple[int, ...], truncation: float = 1.0) -> Samples:
    model = explorer(path)
    z = model.latents(seeds, truncation)
    images, d_scores = model.images_and_scores(z)
    return Samples(
        images, tuple(seeds), d_scores, model.attribute_probabilities(images), model.attributes, z.norm(dim=1).numpy()
    )


@st.cache_data(max_entries=32, show_spinner=False)
def interpolation(path: str, seeds: tuple[int | str, ...], frames: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames uint8 [F, H, W, 3], ||z|| per frame) for a walk through the latents of seeds and latent codes."""
    model = explorer(path)
    return model.interpolate(latents_of(model, seeds), frames, method)


def upscaled(image: np.ndarray, factor: int) -> np.ndarray:
    return ganlib.images.upscale(image, factor)


def _digest(array: np.ndarray) -> str:
    """An exact key for an image array (Streamlit's own hash samples arrays of a million values or more)."""
    return hashlib.sha1(np.ascontiguousarray(array).tobytes() + str((array.shape, array.dtype)).encode()).hexdigest()


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs={np.ndarray: _digest})
def grid_png(images: np.ndarray, columns: int, scale: int = 1) -> bytes:
    """The images tiled in rows of ``columns``, enlarged ``scale`` times, as PNG: encoding costs 50-100 ms, and a
    page redraws the same grid on every rerun (the "before" row of an edit while its strength changes)."""
    return ganlib.png_bytes(ganlib.images.upscale(ganlib.make_grid(images, columns=columns), scale))


def latents_npy(path: str, seeds: tuple[int, ...], truncation: float) -> bytes:
    """The exact z behind a grid, as a .npy file (row i has seed seeds[i])."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, explorer(path).latents(seeds, truncation).numpy())
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- interpolate
@st.cache_data(max_entries=32, show_spinner=False)
def interpolation_gif(
    path: str, seeds: tuple[int | str, ...], frames: int, method: str, scale: int = 2, frame_ms: int = 80
) -> bytes:
    """The walk as an animated GIF, byte for byte what ``python -m ganlib interpolate ... --out walk.gif`` writes."""
    images, _ = interpolation(path, seeds, frames, method)
    return ganlib.gif_bytes(ganlib.images.upscale(images, scale), frame_ms=frame_ms)


def strip_png(path: str, seeds: tuple[int | str, ...], frames: int, method: str, columns: int, scale: int = 1) -> bytes:
    """The walk as one PNG of frames in rows of ``columns`` (all frames in one row for the CLI's strip)."""
    images, _ = interpolation(path, seeds, frames, method)
    return grid_png(images, columns, scale)


# ---------------------------------------------------------------------------------------------- arithmetic
# A concept is a string: "+sunglasses" (present), "-sunglasses" (absent), "+hair=blond", "-hair=blond".
EXEMPLAR_SEARCH_LIMIT = 20_000  # seeds a search scans at most; beyond the request budget only behind a button
EXEMPLAR_BATCH = 500


def binary_attributes(path: str) -> list[str]:
    """Yes/no attributes the classifier can judge: "sunglasses", ..., and "hair=blond" for each class of the
    others; empty without a classifier."""
    return explorer(path).binary_attributes()


def _concept_mask(probabilities: dict[str, np.ndarray], classes: dict[str, list[str]], concept: str) -> np.ndarray:
    """Faces the classifier is sure about (p > 0.9 for "+", p < 0.1 for "-"): exemplars should be clear cases."""
    p = attribute_probability(probabilities, concept[1:], classes)
    return p > CONFIDENT if concept[0] == "+" else p < 1 - CONFIDENT


REQUEST_SECONDS = budget.REQUEST_SECONDS  # what a page computes on its own for one request, at most


def exemplar_search_budget(path: str) -> int:
    """Seeds an exemplar search scans without a click: as many as this model labels within the request budget
    (ganlib.budget.REQUEST_SECONDS at its measured speed), in whole label blocks, at most EXEMPLAR_SEARCH_LIMIT.
    A 128-px upload labels a few hundred a second at most; the rest of a search waits for the page's button."""
    affordable = explorer(path).cost().images_within()
    return min(EXEMPLAR_SEARCH_LIMIT, affordable // LABEL_BLOCK * LABEL_BLOCK)


def tsne_seconds(count: int, iterations: int, perplexity: int) -> float:
    """An upper estimate of t-SNE's own time for ``count`` points, once their features exist."""
    return budget.tsne_seconds(count, iterations, perplexity)


def images_seconds(path: str, count: int) -> float:
    """About how long ``count`` images take this model on this machine (G, D and the classifier, measured once)."""
    return explorer(path).cost().seconds(count)


@st.cache_data(max_entries=64, show_spinner="Finding exemplars with the classifier...")
def exemplar_seeds(
    path: str, concepts: tuple[str, ...], k: int, start: int = 0, count: int | None = None
) -> tuple[int, ...]:
    """The first k seeds of start .. start+count-1 whose images the classifier judges to match every concept
    (fewer when none are left to scan); empty without a classifier. ``count`` defaults to what the request
    budget allows (exemplar_search_budget); a page scans further only behind a button."""
    model = explorer(path)
    if model.classifier is None:
        return ()
    found: list[int] = []
    end = start + min(EXEMPLAR_SEARCH_LIMIT, exemplar_search_budget(path) if count is None else max(0, int(count)))
    for first in range(start, end, EXEMPLAR_BATCH):
        seeds = list(range(first, min(end, first + EXEMPLAR_BATCH)))
        # labelled once per checkpoint (and kept on disk): seeds 0-1999 are a direction's seeds too
        probabilities = model.labels(first, len(seeds))
        mask = np.ones(len(seeds), bool)
        for concept in concepts:
            mask &= _concept_mask(probabilities, model.attributes, concept)
        found += [seed for seed, keep in zip(seeds, mask) if keep]
        if len(found) >= k:
            break
    return tuple(found[:k])


@dataclass(frozen=True)
class Analogy:
    exemplars: tuple[np.ndarray, np.ndarray, np.ndarray]  # uint8 [k, H, W, 3] for A, B, C
    means: np.ndarray  # uint8 [3, H, W, 3]: G(mean z) of A, B, C
    result: np.ndarray  # uint8 [1 + neighbours, H, W, 3]: G(A - B + C), then G(A - B + C + noise * z(seed))
    neighbour_seeds: tuple[int, ...]
    noise: float
    mean_norms: tuple[float, float, float]  # ||mean z|| per term; pure noise averages to sqrt(d / k)
    difference_norm: float  # ||mean A - mean B||: the concept plus what is left of each face's own noise
    noise_floor: float  # sqrt(d / k_A + d / k_B): the same norm for two groups of unrelated random faces
    result_attributes: dict[str, np.ndarray] | None  # the classifier's reading of the result images
    result_norm: float  # ||A - B + C||


@st.cache_data(max_entries=32, show_spinner=False)
def analogy(
    path: str,
    a: tuple[int, ...],
    b: tuple[int, ...],
    c: tuple[int, ...],
    neighbours: int = 4,
    noise: float = 0.25,
    neighbour_seed: int = 0,
) -> Analogy:
    """A - B + C on concept vectors (DCGAN paper, section 6.3: each term is the mean of its exemplars' z)."""
    model = explorer(path)
    terms = [model.latents(seeds) for seeds in (a, b, c)]
    means = torch.stack([ganlib.concept_vector(z) for z in terms])
    result = ganlib.analogy(*means)
    neighbour_seeds = tuple(range(neighbour_seed, neighbour_seed + neighbours))
    points = torch.cat([result[None], result + noise * model.latents(neighbour_seeds)])
    result_images = model.images(points)
    dim = model.latent_dim
    return Analogy(
        tuple(model.images(z) for z in terms),
        model.images(means),
        result_images,
        neighbour_seeds,
        noise,
        tuple(float(m.norm()) for m in means),
        float((means[0] - means[1]).norm()),
        float(np.sqrt(dim / len(a) + dim / len(b))),
        model.attribute_probabilities(result_images),
        float(result.norm()),
    )


@st.cache_data(max_entries=32, show_spinner=False)
def exemplar_edit(
    path: str,
    positive: tuple[int, ...],
    negative: tuple[int, ...],
    seeds: tuple[int | str, ...],
    strengths: tuple[float, ...],
) -> np.ndarray:
    """Edit faces (seeds or latent codes) along mean(positive z) - mean(negative z), the direction a user can build
    without a classifier: uint8 [len(seeds), len(strengths), H, W, 3]; strength 1 moves a face by the whole
    difference."""
    model = explorer(path)
    direction = ganlib.concept_vector(model.latents(positive)) - ganlib.concept_vector(model.latents(negative))
    z = latents_of(model, seeds)
    edited = torch.stack([ganlib.apply_direction(z, direction, s) for s in strengths], dim=1)
    images = model.images(edited.reshape(-1, model.latent_dim))
    return images.reshape(len(seeds), len(strengths), *images.shape[1:])


DIRECTION_SAMPLES = 2000  # classifier-labelled latents a direction is fitted on
# Fresh latents an edit's success rate is estimated on while the page is used; the stored evaluation has the full
# figure. About 70 of them lack sunglasses for an add; a change of strength then costs 0.3-0.5 s here instead of
# the 4 s of 300 latents measured both ways.
MEASURE_SAMPLES = 100


# The Arithmetic page's methods: ganlib.directions.METHODS, and KEEP_PERSON, which edits along the class-mean
# difference and then takes ganlib.guided_edit's gradient steps from each edited face
KEEP_PERSON = "keep_person"


def _direction(path: str, attribute: str, method: str, conditional: bool):
    # the Explorer memoises its directions, and it is itself cached per checkpoint version
    method = "mean_difference" if method == KEEP_PERSON else method
    return explorer(path).direction(attribute, method, conditional=conditional, n=DIRECTION_SAMPLES)


@st.cache_data(max_entries=64, show_spinner=f"Finding the direction from {DIRECTION_SAMPLES} labelled samples...")
def direction_summary(path: str, attribute: str, method: str, conditional: bool) -> dict:
    """{"class_distance", "n"} of an attribute direction; ValueError when this generator cannot show both sides."""
    direction = _direction(path, attribute, method, conditional)
    return {"class_distance": float(direction.class_distance), "n": int(direction.n)}


@st.cache_data(max_entries=64, show_spinner=False)
@kept_on_disk(
    lambda model, seeds, strengths, **view: {"images": _images(len(seeds), model, len(strengths))},
    depends=_direction_used,
)
def attribute_edit(
    path: str,
    attribute: str,
    method: str,
    conditional: bool,
    seeds: tuple[int | str, ...],
    strengths: tuple[float, ...],
) -> np.ndarray:
    """uint8 [len(seeds), len(strengths), H, W, 3]: each face (a seed or a latent code) moved along the direction by
    each strength."""
    model = explorer(path)
    edit = model.edit_keeping_person if method == KEEP_PERSON else model.edit_latent_vectors
    return edit(latents_of(model, seeds), _direction(path, attribute, method, conditional), strengths)


def _probability_of(model: Explorer, images: np.ndarray, attribute: str) -> np.ndarray:
    """The classifier's p(attribute) for a [faces, variants, H, W, 3] block of images, shaped [faces, variants]."""
    flat = model.attribute_probabilities(images.reshape(-1, *images.shape[2:]))
    return attribute_probability(flat, attribute, model.attributes).reshape(images.shape[:2])


@st.cache_data(max_entries=64, show_spinner=False)
def edit_probabilities(
    path: str,
    attribute: str,
    method: str,
    conditional: bool,
    seeds: tuple[int | str, ...],
    strengths: tuple[float, ...],
) -> np.ndarray:
    """The classifier's p(attribute) for every edited face, [len(seeds), len(strengths)]."""
    return _probability_of(
        explorer(path), attribute_edit(path, attribute, method, conditional, seeds, strengths), attribute
    )


@st.cache_data(max_entries=64, show_spinner="Stepping each face until the classifier sees the change...")
@kept_on_disk(
    lambda model, seeds, **view: {
        "images": _images(len(seeds), model, 2),
        "strengths": Expected((len(seeds),), np.float64, -PER_FACE_MAX_STRENGTH, PER_FACE_MAX_STRENGTH, nan=True),
        "probabilities": Expected((len(seeds), 2), np.float32, 0.0, 1.0),
    },
    lambda result: dict(zip(("images", "strengths", "probabilities"), result)),
    lambda arrays, model, **view: (arrays["images"], arrays["strengths"], arrays["probabilities"]),
    depends=lambda path, **view: {**_direction_used(path, **view), "limit": PER_FACE_MAX_STRENGTH},
)
def per_face_edit(
    path: str, attribute: str, method: str, conditional: bool, seeds: tuple[int | str, ...], adding: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each face moved only as far as it needs: until the classifier sees the attribute (or no longer sees it).
    Returns before/after images [len(seeds), 2, H, W, 3], each face's strength (NaN: not reached within
    PER_FACE_MAX_STRENGTH) and p(attribute) before/after [len(seeds), 2]."""
    model = explorer(path)
    z = latents_of(model, seeds)
    limit = PER_FACE_MAX_STRENGTH if adding else -PER_FACE_MAX_STRENGTH
    strengths, edited = per_face_strength(
        model, z, _direction(path, attribute, method, conditional), max_strength=limit
    )
    if method == KEEP_PERSON:
        edited = keep_person(model, z, edited, attribute, adding)
    images = np.stack([model.images(z), model.images(edited)], axis=1)
    return images, strengths, _probability_of(model, images, attribute)


@st.cache_data(max_entries=64, show_spinner=f"Measuring the edit on {MEASURE_SAMPLES} random faces...")
def edit_report(path: str, attribute: str, method: str, conditional: bool, strength: float) -> dict:
    """ganlib.directions.measure_edit at |strength| on MEASURE_SAMPLES fresh faces, the half the sign picks (add_*
    figures for a positive strength, remove_* for a negative one), with a random-direction baseline. Computed once
    per checkpoint and kept on disk (Explorer.measure)."""
    return _measure(path, attribute, method, conditional, strength)


def _measure(path: str, attribute: str, method: str, conditional: bool, strength: float) -> dict:
    side = ("add",) if strength >= 0 else ("remove",)
    direction = _direction(path, attribute, method, conditional)
    if method == KEEP_PERSON:
        return explorer(path).measure_keeping_person(
            direction, abs(strength), n=MEASURE_SAMPLES, seed=DEFAULT_MEASURE_SEED, sides=side
        )
    return explorer(path).measure(direction, abs(strength), n=MEASURE_SAMPLES, seed=DEFAULT_MEASURE_SEED, sides=side)


# ganlib.evaluation.report.SUMMARY_METHOD, the direction the stored summary measured; importing it would load scipy
# (0.4 s of the demo's first click), so tests/test_warm_up.py checks that the two agree instead
SUMMARY_METHOD = "mean_difference"


def stored_evaluation(path: str, attribute: str) -> dict | None:
    """{"figures", "method", "conditional", "strength", "n"} of ``attribute`` from the summary that ``ganlib evaluate
    --write-metadata`` stored in the checkpoint: the full measurement beside the page's quick estimate, of the
    SUMMARY_METHOD direction without conditioning only (a page quotes it beside that edit alone); None when the
    file has none."""
    evaluation = metadata(path).get("evaluation")
    summary = evaluation.get("summary") if isinstance(evaluation, dict) else None
    figures = summary.get(f"{attribute} add / remove") if isinstance(summary, dict) else None
    strength, n = (evaluation.get("strength"), evaluation.get("n")) if isinstance(evaluation, dict) else (None, None)
    if not isinstance(figures, str) or not _is_number(strength) or not _is_number(n):
        return None
    return {
        "figures": figures,
        "method": SUMMARY_METHOD,
        "conditional": False,
        "strength": float(strength),
        "n": int(n),
    }


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


# ---------------------------------------------------------------------------------------------- components
# Directions nobody labelled (ganlib.components): found and named once per checkpoint (about 10 s for toonfaces64 on
# one core here, then read from the disk cache); a change of component or strength costs one row of faces and,
# at a new strength, one measurement on COMPONENT_FACES faces: the faces the names were measured on.
COMPONENT_FACES = component_effects.FACES
COMPONENT_STEP, COMPONENT_MEASURE_SEED = component_effects.STEP, component_effects.MEASURE_SEED
COMPONENT_NAMING_RULE = (component_effects.MIN_CHANGE, component_effects.OVER_RANDOM)
component_share, attribute_spoken = component_effects.share, component_effects.spoken  # one wording, page and label


@st.cache_data(max_entries=16, show_spinner="Finding SeFa and GANSpace components and measuring what each changes...")
def components(path: str) -> tuple[NamedComponent, ...]:
    """The top SeFa and GANSpace components, each named by the attribute it changes most (or unnamed)."""
    return tuple(named_components(explorer(path)))


def _component(path: str, component_id: str):
    model = explorer(path)
    for component in model.components():
        if component.id == component_id:
            return component
    raise ValueError(f"no component {component_id!r} in this checkpoint")


def closest_component(path: str, component_id: str) -> tuple[str, float] | None:
    """(label, |cosine|) of the other method's component most parallel to this one."""
    found = closest_other(explorer(path).components(), _component(path, component_id))
    return (found[0].label, found[1]) if found else None


@st.cache_data(max_entries=64, show_spinner=False)
def component_edit(path: str, component_id: str, seeds: tuple[int | str, ...], steps: tuple[float, ...]) -> np.ndarray:
    """uint8 [len(seeds), len(steps), H, W, 3]: each face (a seed or a projected latent's code) moved along the
    component by each step (in standard deviations of z)."""
    model = explorer(path)
    return model.move_latent_vectors(latents_of(model, seeds), _component(path, component_id).vector, steps)


@st.cache_data(max_entries=128, show_spinner=False)
def component_effect(path: str, component_id: str, strength: float) -> dict:
    """{"component", "random"}: ganlib.component_effects.measure (mean pixel change, D's feature change, each
    attribute's frequency change) for the COMPONENT_FACES faces moved from 0 to ``strength`` along the component and
    along a fixed random direction of the same length; at +COMPONENT_STEP, the figures its name was read from."""
    return component_effects.measure(explorer(path), _component(path, component_id).vector, strength)


# ---------------------------------------------------------------------------------------------- warm-up
# The talk's one-click demo, "add sunglasses" (views/attribute_edits.DEMO puts the page in this state).
DEMO_EDIT = {"attribute": "sunglasses", "method": "svm", "conditional": True, "strength": 2.0}
# Imports that the warm-up pays ahead, each once the server has been idle this long: an import holds the GIL, and
# one in the background made the runs beside it 2-3x slower here.
IDLE_SECONDS = 2.0
_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None
_last_run = time.monotonic()  # when a script run last called warm_up: the server's activity clock


def warm_up(
    path: str, arrivals: tuple[Callable[[str], object], ...] = (), later: tuple[Callable[[str], object], ...] = ()
) -> threading.Thread | None:
    """Called on every script run; the first call starts a background thread (once per server process) that loads
    checkpoint ``path`` and computes the demo's direction and measured edit, so that the first visitor's demo click
    finds them ready (read from the disk cache when an earlier server computed them, else labelled now: about 5 s
    on one core here). Later, whenever the server has been idle for IDLE_SECONDS, it imports what other pages
    would otherwise import on first use and calls each of ``arrivals`` (dashboard/arrivals.py: what a page computes
    for its first visitor) with ``path``, so that the page opens from the cache, and after those each of ``later``
    (what a visitor's first click there is likely to ask for), one per idle moment. Never blocks: a page that asks for
    a value the thread is computing waits for it instead of computing it twice, and a failure only means the pages
    compute what they need themselves.
    Returns the thread the first time, None after. GANLIB_WARM_UP=0 switches it off (the tests do: a thread still
    inside torch when a short test process exits can abort the interpreter's shutdown)."""
    global _warm_up_thread, _last_run
    _last_run = time.monotonic()
    with _warm_up_lock:
        if _warm_up_thread is not None or not path or os.environ.get("GANLIB_WARM_UP", "1") == "0":
            return None
        _warm_up_thread = threading.Thread(target=_warm, args=(path, arrivals, later), name=WARM_UP_THREAD, daemon=True)
        logging.getLogger(SCRIPT_RUN_CONTEXT_LOGGER).addFilter(_quiet_in_warm_up)
    _warm_up_thread.start()
    return _warm_up_thread


WARM_UP_THREAD = "ganlib-warm-up"
SCRIPT_RUN_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


def _quiet_in_warm_up(record: logging.LogRecord) -> bool:
    """The warm-up fills the caches that every session shares, outside any session by design, and Streamlit warns
    "missing ScriptRunContext" for a cached call made there. Drop that warning from the warm-up thread only: from
    any other thread it still means a bug."""
    return threading.current_thread().name != WARM_UP_THREAD


def _script_running() -> bool:
    """Whether a page's script runs in this process now. Streamlit runs each in a thread of this name: a detail of
    its implementation, so should it change, this says no and the imports only stop waiting for quiet."""
    return any(thread.name.startswith("ScriptRunner") for thread in threading.enumerate())


def _when_idle() -> None:
    """Return once no script has run or started for IDLE_SECONDS (at once when none has for that long)."""
    busy_at = _last_run
    while True:
        now = time.monotonic()
        if _script_running():
            busy_at = now
        if now - max(busy_at, _last_run) >= IDLE_SECONDS:
            return
        time.sleep(0.2)


def _warm(path: str, arrivals: tuple, later: tuple = ()) -> None:
    # best effort: a page reports any error when it asks for the same thing. A direction not on disk imports
    # scikit-learn: never beside the late imports (dashboard/first_run.py), which the first use below waits for.
    with contextlib.suppress(Exception), first_run.imports_held_off():
        model = explorer(path)
        if model.classifier is not None and DEMO_EDIT["attribute"] in model.binary_attributes():
            # the Explorer's memo, which the page's cached functions read through
            _measure(path, **DEMO_EDIT)
    for step in (*_first_uses(path, arrivals), *(functools.partial(use, path) for use in later)):
        _when_idle()
        with contextlib.suppress(Exception):
            step()


def _first_uses(path: str, arrivals: tuple = ()) -> tuple:
    """What pages and controls do on first use, in the order a visitor is likely to need them, measured here on one
    core: the libraries pages import late (dashboard/first_run.py: scikit-learn for an SVM direction and the map's
    PCA, 1 s; torch._dynamo for the first optimizer, 2.3 s), each while no script runs (at once where the server's
    first run left them done), the pages' arrivals fill their caches (Interpolate 0.7 s, Latent map 2.5 s), the 1-D
    game's first game, the Components mode finds and names the checkpoint's components (about 9 s for toonfaces64,
    then kept on disk), and its box's random direction is measured at every step of the slider (about 3 s, kept on
    disk)."""
    return (
        lambda: first_run.import_late_libraries(when_quiet=True),
        *(functools.partial(arrival, path) for arrival in arrivals),
        lambda: ToyGAN(ToyConfig()),
        lambda: named_components(explorer(path)),  # the Explorer's memo, which services.components reads through
        lambda: measure_chance(explorer(path), component_slider_strengths()),  # the box's random half, every step
    )


def component_slider_strengths() -> tuple[float, ...]:
    """Every strength the Components slider offers but 0 (which measures nothing)."""
    low, high = COMPONENT_STRENGTH_RANGE
    count = round((high - low) / COMPONENT_STRENGTH_STEP)
    return tuple(low + i * COMPONENT_STRENGTH_STEP for i in range(count + 1) if low + i * COMPONENT_STRENGTH_STEP)


# ----------------------------------------------------------------------------------------- latent map
@dataclass(frozen=True)
class LatentMap:
    seeds: np.ndarray  # int64 [N]: point i is the latent of seeds[i]
    coordinates: np.ndarray  # float32 [N, 2]
    norms: np.ndarray  # ||z|| [N]
    d_scores: np.ndarray | None  # D(G(z)) [N]
    attributes: dict[str, np.ndarray] | None  # attribute -> [N, classes] probabilities
    classes: dict[str, list[str]]  # attribute -> class names
    seconds: float  # what computing it took, whenever that was (its images and features, which maps of the same seeds
    # share, and its projection); a cached rerun costs nothing


# A map's images and features are cached in blocks of MAP_BLOCK seeds (block k holds seeds k * MAP_BLOCK onwards), so
# maps that share seeds share that work: a 2,000-point map after the 500-point arrival map makes 1,500 images, and
# PCA and t-SNE of the same seeds make none. 250 is the Points control's step.
MAP_BLOCK = 250


@st.cache_data(max_entries=64, show_spinner=False)
def _map_block(path: str, first: int, count: int, space: str) -> projection.MapPoints:
    return projection.map_points(explorer(path), range(first, first + count), space)


def map_blocks(first: int, count: int) -> list[tuple[int, int]]:
    """(first seed, count) of each cached block that seeds first..first+count-1 span, cut to that range."""
    end = first + count
    starts = [first, *range((first // MAP_BLOCK + 1) * MAP_BLOCK, end, MAP_BLOCK)]
    return [(start, min(end, (start // MAP_BLOCK + 1) * MAP_BLOCK) - start) for start in starts]


def _map_points(path: str, first: int, count: int, space: str, progress=None) -> projection.MapPoints:
    report = progress or (lambda fraction, message: None)
    blocks = map_blocks(first, count)
    parts = []
    for index, (start, size) in enumerate(blocks):
        done = start - first
        report(index / len(blocks), f"Images {done + 1:,}-{done + size:,} of {count:,} and their {space} features")
        parts.append(_map_block(path, start, size, space))
    return projection.join_points(parts)


@st.cache_data(max_entries=16, show_spinner=False)
def _map_coordinates(
    path: str, first: int, count: int, space: str, method: str, perplexity: int, iterations: int, seed: int
) -> tuple[np.ndarray, float]:
    import time

    features = _map_points(path, first, count, space).features
    started = time.perf_counter()
    coordinates = projection.project(features, method, seed=seed, perplexity=perplexity, iterations=iterations)
    return coordinates, time.perf_counter() - started


def latent_map(
    path: str,
    first: int,
    count: int,
    space: str,
    method: str,
    perplexity: int,
    iterations: int,
    seed: int,
    progress=None,
) -> LatentMap:
    """Seeds first..first+count-1 projected to 2-D (method "pca" or "tsne") from a feature space of
    ganlib.projection. The images and features are cached in blocks of seeds (MAP_BLOCK) that every map holding
    them reuses, the projection by the parameters it reads, so a rerun is instant and another projection of the
    same seeds costs only itself; ``progress(fraction, message)`` hears the stages (it is called outside the cached
    functions, which cannot talk to the page).
    Raises ValueError for parameters the projection refuses, before any work."""
    projection.check_parameters(count, method, perplexity, iterations)
    model = explorer(path)
    if space not in projection.available_spaces(model):
        raise ValueError(f"feature space {space!r} is not available for this checkpoint")
    if method == "pca":  # which PCA does not read: a new perplexity or iteration count draws the same map
        perplexity, iterations = 0, 0
    report = progress or (lambda fraction, message: None)
    points = _map_points(path, first, count, space, lambda fraction, message: report(0.5 * fraction, message))
    name = "t-SNE" if method == "tsne" else "PCA"
    report(0.5, f"{name} of {count:,} points" + (f" ({iterations} iterations)" if method == "tsne" else ""))
    coordinates, seconds = _map_coordinates(path, first, count, space, method, perplexity, iterations, seed)
    report(1.0, "Done")
    return LatentMap(
        points.seeds,
        coordinates,
        points.norms,
        points.d_scores,
        points.attributes,
        model.attributes,
        points.seconds + seconds,
    )


def check_map(count: int, method: str, perplexity: int, iterations: int) -> None:
    """Raise ValueError for map parameters the projection refuses (cheap: nothing is generated)."""
    projection.check_parameters(count, method, perplexity, iterations)


@st.cache_data(max_entries=16, show_spinner="Clustering...")
def map_clusters(path: str, first: int, count: int, space: str, k: int, seed: int) -> np.ndarray:
    """k-means cluster [0, k) of each point, on the standardised PCA-50 features (not the 2-D map, so clusters
    can reveal structure a projection hides)."""
    features = _map_points(path, first, count, space).features
    return projection.kmeans_labels(projection.reduce(features, seed=seed), k, seed)


def map_spaces(path: str) -> tuple[str, ...]:
    """The feature spaces this checkpoint can be mapped in (D and the classifier are optional)."""
    return projection.available_spaces(explorer(path))


def atlas_thumbnails(path: str, latent: LatentMap, cells: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """One representative image per occupied cell of a cells x cells grid over the map: (uint8 images [M, H, W, 3],
    cell centres [M, 2], cell (width, height))."""
    indices, centres, size = projection.atlas_cells(latent.coordinates, cells)
    return samples(path, tuple(int(s) for s in latent.seeds[indices])).images, centres, size


def map_csv(latent: LatentMap, clusters: np.ndarray | None = None) -> bytes:
    """seed, x, y, d_score, norm, [cluster], one p_<attribute>[_<class>] column per probability: one row per point."""
    import csv
    import io

    columns = {"seed": latent.seeds, "x": latent.coordinates[:, 0], "y": latent.coordinates[:, 1]}
    if latent.d_scores is not None:
        columns["d_score"] = latent.d_scores
    columns["norm"] = latent.norms
    if clusters is not None:
        columns["cluster"] = clusters
    for name, probabilities in (latent.attributes or {}).items():
        labels = latent.classes.get(name, [str(i) for i in range(probabilities.shape[1])])
        if probabilities.shape[1] == 2:
            columns[f"p_{name}"] = probabilities[:, 1]
        else:
            columns.update({f"p_{name}_{label}": probabilities[:, i] for i, label in enumerate(labels)})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in zip(*columns.values()):
        writer.writerow([f"{value:.6g}" if isinstance(value, (float, np.floating)) else value for value in row])
    return buffer.getvalue().encode()


@st.cache_data(max_entries=16, show_spinner=False)
def map_places(path: str, first: int, count: int, space: str, seed: int, codes: tuple[str, ...]) -> np.ndarray:
    """Where projected latents land on the PCA map of seeds first..first+count-1 in ``space``: [len(codes), 2]."""
    model = explorer(path)
    features = _map_points(path, first, count, space).features
    return projection.place(features, projection.latent_features(model, latents_of(model, codes), space), seed)


# ----------------------------------------------------------------------------------------- your images (inversion)
MAX_PICTURE_MB = MAX_FILE_BYTES >> 20  # = MAX_UPLOAD_MB, the uploader's own limit (.streamlit/config.toml)
_projecting = threading.Lock()  # one projection at a time: it trains z against the shared G, and the CPU is small


@dataclass(frozen=True)
class Projected:
    code: str  # the latent as ganlib.latent_code text: what a pin and a link keep
    target: np.ndarray  # uint8 [S, S, C]: the picture as the model saw it (cropped, resized, converted)
    reconstruction: np.ndarray  # uint8 [S, S, 3]: G(z) of the latent the code holds
    psnr: float  # dB between the two, 8-bit peak
    seconds: float  # the projection's own time (a rerun reads it from the cache)
    start: str  # "encoder" (E(x) was the first start) or "random"
    perceptual: str  # "classifier", "discriminator" or "pixels"
    restarts: int
    steps: int
    chance_psnr: float = float("nan")  # dB: the best of inversion.CHANCE_SAMPLES random samples against the picture
    unlike_the_model: bool = False  # no closer than a random sample (inversion.no_closer_than_chance)


def latent_dim(path: str) -> int:
    """The open model's latent size, from its metadata (no model is loaded)."""
    return int(metadata(path)["model"]["latent_dim"])


def latent_code_problems(path: str, codes: tuple[str, ...]) -> list[str]:
    """Per code, "" where it is a latent of this model, else the one-line reason (ganlib.latent_code's)."""
    problems = []
    for code in codes:
        try:
            decode_latent(code, latent_dim(path))
            problems.append("")
        except LatentCodeError as error:
            problems.append(str(error))
    return problems


@st.cache_data(max_entries=32, show_spinner=False)
def code_images(path: str, codes: tuple[str, ...]) -> np.ndarray:
    """G(z) of each latent code: uint8 [len(codes), H, W, 3], all that a link needs to show your images again."""
    model = explorer(path)
    return model.images(latents_of(model, codes))


def read_picture(path: str, name: str, data: bytes) -> np.ndarray:
    """An uploaded or drawn picture as the open model sees it, uint8 [S, S, C] (any size and mode: centre-cropped,
    resized, converted). ImageFileError, one line naming it, for what cannot be used."""
    config = explorer(path).generator.config
    return read_image(data, config.image_size, config.channels, name=name)


@st.cache_data(max_entries=8, show_spinner=False)
def dataset_pictures(path: str, first: int, count: int) -> tuple[np.ndarray, str] | None:
    """(uint8 [count, S, S, C] pictures from the model's own data set, which one) to try projection on; None for a
    data set without built-in pictures. ToonFaces are renders no bundled network saw; the digits are the 1,797
    scikit-learn digits that digits32 trained on (there are no others)."""
    model = explorer(path)
    size, name = model.image_size, model.dataset_name
    if name == "toonfaces":
        faces, _ = render_toonfaces(first + count, seed=HELD_OUT_SEED, image_size=size if size in (32, 64) else 64)
        return (
            faces[first:],
            f"ToonFaces renders with seed {HELD_OUT_SEED}, faces {first}-{first + count - 1}: no bundled network saw them",
        )
    if name == "digits":
        images = load_digits(size).images[first : first + count].permute(0, 2, 3, 1).numpy()
        return (
            images,
            f"scikit-learn digits {first}-{first + count - 1}, which the digits models trained on (all 1,797)",
        )
    return None


@st.cache_resource(max_entries=6, show_spinner=False)
def _load_encoder(path: str, version: tuple[float, float]):
    try:
        return find_encoder(checkpoint_path(path), explorer(path).generator), ""
    except CheckpointError as error:
        return None, str(error)


def _encoder_version(path: str) -> tuple[float, float]:
    """The checkpoint's version and its encoder file's (0 where there is none): `ganlib train-encoder` run beside an
    open checkpoint is picked up by the next page run, not by the next server."""
    try:
        encoder = encoder_path(checkpoint_path(path)).stat().st_mtime
    except OSError:
        encoder = 0.0
    return file_version(path), encoder


def encoder_status(path: str) -> tuple[bool, str]:
    """(whether an encoder starts projection, the problem with the one beside the checkpoint or "")."""
    encoder, problem = _load_encoder(path, _encoder_version(path))
    return encoder is not None, problem


# Without an encoder the page answers in seconds rather than match closely: the CLI's 8 x 200 took 20.6 s a face on
# one thread (README, inversion), 4 x 100 about a fifth of that, keeping every attribute less often (6 of 8 faces
# against 8 of 8 in the trial)
PAGE_WITHOUT_ENCODER = (4, 100)


def projection_defaults(path: str) -> tuple[int, int]:
    """(restarts, steps) for the page: ``ganlib project``'s where an encoder gives the first start, else fewer than
    the CLI's WITHOUT_ENCODER, to answer in seconds."""
    return WITH_ENCODER if encoder_status(path)[0] else PAGE_WITHOUT_ENCODER


def project_picture(path: str, picture: np.ndarray, restarts: int, steps: int) -> Projected:
    """ganlib.inversion.project of one picture (uint8 [S, S, C], as read_picture returns it), with the perceptual
    term and the encoder ``ganlib project`` would use. Cached by the checkpoint, its encoder file's version and the
    picture's content, so a rerun, or the same picture uploaded again under another name, costs nothing, and a new
    encoder beside the file projects anew."""
    return _project_picture(path, picture, restarts, steps, _encoder_version(path))


@st.cache_data(
    max_entries=64, show_spinner="Finding the picture in the latent space...", hash_funcs={np.ndarray: _digest}
)
def _project_picture(
    path: str, picture: np.ndarray, restarts: int, steps: int, encoder_version: tuple[float, float]
) -> Projected:
    model = explorer(path)
    encoder, _ = _load_encoder(path, encoder_version)
    with _projecting:
        result = inversion.project(
            model.generator,
            np.array(picture)[None],  # a copy: torch wants writable memory, and a picture read by PIL is not
            steps=steps,
            restarts=restarts,
            encoder=encoder,
            classifier=model.classifier,
            discriminator=None if model.classifier is not None else model.discriminator,
        )
    # what a pin and a link keep is the float16 code: show and measure the image it makes (within a grey level)
    code = encode_latent(result.latents[0])
    reconstruction = model.images(decode_latent(code, model.latent_dim)[None])
    psnr = float(inversion.psnr(reconstruction, result.targets)[0])
    chance = float(inversion.chance_psnr(model.generator, result.targets)[0])
    return Projected(
        code,
        result.targets[0],
        reconstruction[0],
        psnr,
        result.seconds,
        result.start,
        result.perceptual,
        restarts,
        steps,
        chance,
        inversion.no_closer_than_chance(psnr, chance),
    )


# ----------------------------------------------------------------------------------------- how a GAN learns
def toy_game(preset: str, loss: str, d_steps: int, lr_g: float, lr_d: float, optimal_d: bool = False) -> ToyGAN:
    """A fresh 1-D GAN for the "How a GAN learns" page. Never cached: it is one user's mutable training state."""
    return ToyGAN(ToyConfig(preset=preset, loss=loss, d_steps=d_steps, lr_g=lr_g, lr_d=lr_d, optimal_d=optimal_d))


@st.cache_data(max_entries=4, show_spinner=False)
def loss_curves(points: int = 399) -> GeneratorLossCurves:
    """Both generator losses and their gradient strengths on a grid of D(G(z)) strictly inside (0, 1)."""
    return generator_loss_curves(np.linspace(0.0025, 0.9975, points))


# ----------------------------------------------------------------------------------------- training runs
# Runs train in their own process (ganlib.runs); these read and steer them in runs_dir(). Nothing is cached:
# a run's progress changes between reruns, and reading it costs a few small files.
def list_runs() -> list[RunSummary]:
    """Runs in the runs folder, newest first."""
    return runs.list_runs(runs_dir())


def active_run() -> RunHandle | None:
    """The run training now on this machine, whichever session started it (at most one)."""
    return runs.active_run(runs_dir())


def start_run(settings: TrainConfig) -> RunHandle:
    """Launch a training process; RunError when one is already training or the data set is unusable."""
    return runs.start_run(runs_dir(), settings)


def stop_run(handle: RunHandle) -> str:
    """Stop a run after its current step (it writes a checkpoint first); returns how it ended."""
    return runs.stop_run(handle)


def run_progress(name: str) -> Progress:
    """Everything the pages show about run ``name``: state, step, ETA, curves, sample grids."""
    return runs.read_progress(runs_dir() / name)


def run_sample(progress: Progress, index: int = -1) -> tuple[int, np.ndarray] | None:
    """(step, uint8 grid) of a run's sample grid ``index``, None when it cannot be read (being written)."""
    return runs.read_sample(progress, index)


def estimate_seconds(settings: TrainConfig) -> float:
    return runs.estimate_seconds(settings)


def run_checkpoint(name: str) -> str | None:
    """The checkpoint id of run ``name``'s generator as the picker lists it, None before its first checkpoint."""
    entry = checkpoints().entry_for_path(runs_dir() / name / runs.GENERATOR_FILE)
    return entry.id if entry else None
