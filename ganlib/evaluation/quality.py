"""Quality: how far generated images are from real ones (Fréchet distance), and how often each attribute appears."""

from __future__ import annotations

import math

import numpy as np

from ..directions import is_yes_no
from .frechet import frechet_distance

# The report's quality figures, read by report.py and targets.py
FD, FD_REAL_BASELINE, FD_RATIO = "fd", "fd_real_baseline", "fd_ratio"


def _frequencies(probabilities: np.ndarray, classes: list[str]):
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(classes)) / max(len(probabilities), 1)
    if is_yes_no(classes):
        return float(counts[1])
    return {c: float(f) for c, f in zip(classes, counts)}


def _attribute_block(attributes, real, generated, labels, label_classes) -> dict:
    block = {}
    for name, classes in attributes.items():
        block[name] = {"real": _frequencies(real[name], classes), "generated": _frequencies(generated[name], classes)}
        # the true labels of the real images, where they name the same classes: how far off the judge itself is
        if name in labels and list(label_classes.get(name, [])) == list(classes):
            block[name]["real_labels"] = _frequencies(np.eye(len(classes))[labels[name]], classes)
    return block


def _coverage_block(attributes, real, generated) -> dict:
    """Per attribute: classes the generator shows (argmax of at least a tenth of its fair share of the samples)
    and the judge's mean confidence (max probability) on real and generated images."""
    block = {}
    for name, classes in attributes.items():
        counts = np.bincount(generated[name].argmax(axis=1), minlength=len(classes))
        seen = counts >= max(1, round(0.1 * len(generated[name]) / len(classes)))
        block[name] = {
            "coverage": float(seen.mean()),
            "classes_seen": int(seen.sum()),
            "classes": len(classes),
            "missing": [c for c, s in zip(classes, seen) if not s],
            "mean_confidence_real": float(real[name].max(axis=1).mean()),
            "mean_confidence_generated": float(generated[name].max(axis=1).mean()),
        }
    return block


def measure_quality(
    judge,
    judge_kind: str,
    generated_images: np.ndarray,
    generated: dict | None,
    real_images: np.ndarray,
    labels: dict,
    real_attributes: dict,
    n_fd: int,
) -> dict:
    """FD of n_fd generated images against n_fd real ones, and of the next n_fd real ones (the baseline); with
    the judge's probabilities ``generated`` for the generated images, attribute frequencies and coverage on as many
    real images as there are generated ones."""
    real_a, real_b = real_images[:n_fd], real_images[n_fd : 2 * n_fd]
    features_real_a = judge.features(real_a)
    fd = frechet_distance(judge.features(generated_images[:n_fd]), features_real_a)
    baseline = frechet_distance(judge.features(real_b), features_real_a)
    block = {
        FD: fd,
        FD_REAL_BASELINE: baseline,
        FD_RATIO: fd / baseline if baseline > 0 else math.nan,
        "fd_samples": n_fd,
        "fd_features": f"{judge_kind}: {features_real_a.shape[1]} features",
    }
    if generated is None:
        return {**block, "attributes": {}, "coverage": {}}
    count = len(generated_images)
    real = judge.predict_proba(real_images[:count])
    attributes = dict(judge.attributes)
    block["attributes"] = _attribute_block(
        attributes, real, generated, {k: v[:count] for k, v in labels.items()}, real_attributes
    )
    block["coverage"] = _coverage_block(attributes, real, generated)
    return block
