"""The whole evaluation: load the generator and the real images, choose the judge, measure every block, time it."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from ..checkpoint import load_generator
from ..directions import DEFAULT_MEASURE_SEED, label_latents
from ..explorer import Explorer
from .arithmetic import SWEEP_STRENGTHS, measure_arithmetic, sweep_size
from .entanglement import measure_entanglement
from .judges import choose_judge
from .quality import measure_quality
from .real_images import load_real_images, real_source
from .unsupervised import name_directions


def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value


def evaluate(
    checkpoint_path,
    n: int = 2000,
    seed: int = 0,
    strength: float = 1.5,
    data: str | None = None,
    classifier=None,
    log=None,
    quality_only: bool = False,
) -> dict:
    """Measure a generator file; returns a JSON-serialisable dict (see ganlib.evaluation for the blocks).

    ``data`` names the real images when the checkpoint's own data set cannot be reloaded from its metadata;
    ``classifier`` replaces the judge: a classifier file (ganlib.classifier format) or any object with
    ``attributes``, ``predict_proba`` and ``features``. ``quality_only`` stops after FD and attribute frequencies
    (seconds instead of minutes: for ranking a run's kept checkpoints); the other blocks are then empty.
    G and the judge see about 100 n images, so n=1000 takes minutes on a CPU (README, "Bundled checkpoints")."""
    if n < 32:
        raise ValueError(f"n must be at least 32, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if not 0 < strength <= 10:
        raise ValueError(f"strength must be in (0, 10], got {strength}")
    log = log or (lambda message: None)
    started = time.time()
    seconds = {}
    generator = load_generator(checkpoint_path)
    metadata = generator.metadata
    name, data_root = real_source(metadata, data)
    log(f"loading real images ({name})")
    real_images, labels, real_attributes = load_real_images(name, generator.config.image_size, 2 * n, seed, data_root)
    n_fd = min(n, len(real_images) // 2)  # digits has 1,797 images: FD on fewer, all sets the same size
    if n_fd < 2:
        raise ValueError(f"the real data set has {len(real_images)} images; FD needs at least 4")
    judge, judge_info = choose_judge(metadata, classifier, real_images, labels, real_attributes, seed)
    explorer = Explorer(generator, classifier=judge)
    attributes = explorer.attributes
    measure_seed = DEFAULT_MEASURE_SEED + seed
    seconds["setup"] = time.time() - started

    log("quality: Fréchet distance")
    mark = time.time()
    z = explorer.latents(range(measure_seed, measure_seed + n))
    # generated once: the FD, the attribute frequencies and every measured edit's "before" read these images
    generated_images = explorer.images(z)
    generated = explorer.attribute_probabilities(generated_images) if attributes else None
    report = measure_quality(
        judge, judge_info["kind"], generated_images, generated, real_images, labels, real_attributes, n_fd
    )
    seconds["quality"] = time.time() - mark

    report["arithmetic"], report["entanglement"], report["unsupervised"] = {}, {}, {}
    if not quality_only:
        mark = time.time()
        if attributes:
            # every direction is fitted on these labelled seeds, and every edit measured on the faces above
            fitting = label_latents(explorer, n, seed)
            report["arithmetic"], conditional = measure_arithmetic(
                explorer, strength, n, seed, measure_seed, fitting, (z, generated), log
            )
        seconds["arithmetic"] = time.time() - mark
        log("entanglement and unsupervised directions")
        mark = time.time()
        if attributes:
            report["entanglement"] = {**measure_entanglement(explorer, n, seed, fitting), "conditional": conditional}
        seconds["entanglement"] = time.time() - mark
        mark = time.time()
        report["unsupervised"] = name_directions(explorer, seed)
        seconds["unsupervised"] = time.time() - mark
    seconds["total"] = time.time() - started

    report["meta"] = {
        "checkpoint": str(checkpoint_path),
        "training_steps": (metadata.get("training") or {}).get("steps"),
        "dataset": name,
        "n": n,
        "seed": seed,
        "strength": strength,
        "quality_only": quality_only,
        "sweep_strengths": list(SWEEP_STRENGTHS),
        "sweep_n": sweep_size(n),
        "judge": judge_info,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "device": f"cpu, {torch.get_num_threads()} torch thread(s)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return _clean(report)
