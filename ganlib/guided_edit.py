"""Edits that keep the person: a few gradient steps from the arithmetic result.

Latent arithmetic moves every face by the same vector. Where the attribute's direction is entangled with others
(sunglasses with hair colour, say), that vector changes the person too. InterFaceGAN's conditional manipulation
removes the other attributes' directions in closed form, which only works as far as those directions are linear.
Optimisation-based editors instead descend from the arithmetic result on a loss that asks for the attribute and
holds everything else where it was:

    loss(z') = relu(-log p_attribute(G(z')) - (-log TARGET))          the attribute, until the classifier is sure
             + KEEP_WEIGHT   * sum over other attributes KL(p(G(z)) || p(G(z')))   their classifier outputs held
             + FEATURE_WEIGHT * |D_features(G(z')) - D_features(G(z))|^2 / |D_features(G(z))|^2   what D sees held
             + PRIOR_WEIGHT  * (|z'| - |z|)^2                              z stays where G was trained

The classifier is the one the edit optimises against, so it is not a fair judge of the result: evaluations
score these edits with ganlib.classifier.SECOND_JUDGE as well (another architecture, seed and renders).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .classifier import INPUT_SIZE
from .directions import parse_attribute

# Tuned on the bundled toonfaces64 (benchmarks/bench_edits.py, docs/bench_edits.json). Adam moves every coordinate by
# about the learning rate per step whatever the gradient's size, so 20 steps of 0.01 move z by at most 0.2 * sqrt(d)
# (2 in 100-d); 0.08 moved faces by 3 and lost the attribute again.
STEPS = 20  # Adam steps from the arithmetic result
LEARNING_RATE = 0.01
TARGET = 0.99  # the attribute term stops pushing once the classifier says p >= 0.99
KEEP_WEIGHT = 2.0
FEATURE_WEIGHT = 1.0
PRIOR_WEIGHT = 0.05


def _classifier_input(images: torch.Tensor) -> torch.Tensor:
    """G's output [N, 3, S, S] in [-1, 1] as the classifier reads it (64 x 64), differentiably."""
    if tuple(images.shape[2:]) == (INPUT_SIZE, INPUT_SIZE):
        return images
    downsampling = images.shape[2] > INPUT_SIZE
    return F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                         antialias=downsampling)  # fmt: skip


def _log_probabilities(classifier, images: torch.Tensor) -> dict[str, torch.Tensor]:
    return {name: F.log_softmax(logits, dim=1) for name, logits in classifier(_classifier_input(images)).items()}


def keep_person(explorer, z: torch.Tensor, start: torch.Tensor, attribute: str, adding: bool = True,
                steps: int = STEPS) -> torch.Tensor:  # fmt: skip
    """Latents that show (``adding``) or lack ``attribute`` while holding the other attributes and D's features
    of ``z``: ``steps`` Adam steps on the loss above, from ``start`` (the arithmetic result for z)."""
    if explorer.classifier is None:
        raise ValueError("editing that keeps the person needs an attribute classifier for this checkpoint")
    if explorer.generator.config.channels != 3:
        raise ValueError("editing that keeps the person needs RGB images (the classifier reads colour)")
    name, index = parse_attribute(attribute, explorer.attributes)
    yes_no = index is None
    classifier, generator, discriminator = explorer.classifier.eval(), explorer.generator, explorer.discriminator
    z = torch.as_tensor(z, dtype=torch.float32)
    with torch.no_grad():
        images = generator(z)
        before = {key: value.exp() for key, value in _log_probabilities(classifier, images).items()}
        features = discriminator.features(images).flatten(1) if discriminator is not None else None
    norms = z.norm(dim=1)
    target_class = (1 if adding else 0) if yes_no else index
    latent = torch.as_tensor(start, dtype=torch.float32).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([latent], lr=LEARNING_RATE)
    for _ in range(steps):
        with torch.enable_grad():
            images = generator(latent)
            log_p = _log_probabilities(classifier, images)
            if yes_no or adding:
                log_target = log_p[name][:, target_class]
            else:  # removing one class of a many-class attribute: any other class will do
                log_target = torch.log1p(-log_p[name][:, target_class].exp().clamp(max=1 - 1e-6))
            loss = F.relu(-log_target - (-math.log(TARGET)))
            for other, values in log_p.items():
                if other != name:
                    loss = loss + KEEP_WEIGHT * (before[other] * (before[other].clamp_min(1e-8).log() - values)).sum(1)
            if features is not None:
                moved = discriminator.features(images).flatten(1)
                loss = loss + FEATURE_WEIGHT * (moved - features).square().sum(1) / features.square().sum(1)
            loss = loss + PRIOR_WEIGHT * (latent.norm(dim=1) - norms).square()
            # the gradient of z' alone: G, D and the classifier may be shared with other sessions' threads, so
            # nothing is accumulated in their weights. Faces are independent: each one's gradient is its own loss's.
            (latent.grad,) = torch.autograd.grad(loss.sum(), [latent])
        optimizer.step()
    return latent.detach()


def keep_person_rows(explorer, z: torch.Tensor, direction, strengths) -> torch.Tensor:
    """Latents [len(z) * len(strengths), d], strength-major as Explorer.edit_latent_vectors orders them: each face
    moved by each strength along ``direction`` (class-mean distances), then kept (strength 0 stays the face)."""
    from .directions import edit_latents

    rows = []
    for strength in strengths:
        start = edit_latents(z, direction, float(strength))
        rows.append(z if strength == 0 else keep_person(explorer, z, start, direction.attribute, strength > 0))
    return torch.cat(rows) if rows else z[:0]


def measure_keep_person(explorer, direction, strength: float, n: int, seed: int, sides=("add", "remove"),
                        faces: int = 16, second_judge=None) -> dict:  # fmt: skip
    """measure_edit's figures for keep_person from the arithmetic result at ``strength``, on the first ``faces``
    qualifying faces of each side among seeds seed..seed+n-1 (each costs about 20 passes of G, D and the
    classifier). The random-direction baseline is measure_edit's. With ``second_judge`` (a classifier the edit was
    not optimised against) its verdicts are under "second_judge"."""
    from .directions import CONFIDENT, attribute_probability, classify_latents, edit_latents, keep_rates, measure_edit

    baseline = measure_edit(explorer, direction, strength, n=n, seed=seed, sides=sides)
    name, _ = parse_attribute(direction.attribute, explorer.attributes)
    z = explorer.latents(range(seed, seed + n))
    before = classify_latents(explorer, z)
    p_before = attribute_probability(before, direction.attribute, explorer.attributes)
    result = {**baseline, "method": "keep_person", "faces_per_side": faces}
    judges = {"": explorer.classifier}
    if second_judge is not None:
        judges["second_judge"] = second_judge
        result["second_judge"] = {}
    for side in sides:
        adding = side == "add"
        chosen = np.flatnonzero(p_before < 1 - CONFIDENT if adding else p_before > CONFIDENT)[:faces]
        prefix = "" if adding else "remove_"
        start = edit_latents(z[chosen], direction, strength if adding else -strength)
        edited = keep_person(explorer, z[chosen], start, direction.attribute, adding) if len(chosen) else z[:0]
        before_images, after_images = explorer.images(z[chosen]), explorer.images(edited)
        for key, judge in judges.items():
            judged_before, judged_after = judge.predict_proba(before_images), judge.predict_proba(after_images)
            p = attribute_probability(judged_after, direction.attribute, judge.attributes)
            success = p > 0.5 if adding else p < 0.5
            others = [other for other in judge.attributes if other != name]
            figures = {
                f"{side}_success": float(success.mean()) if len(chosen) else float("nan"),
                f"{side}_faces": int(len(chosen)),
                f"{prefix}keep_others": keep_rates(
                    judged_before, judged_after, judge.attributes, others, np.arange(len(chosen))
                ),  # fmt: skip
            }
            (result["second_judge"] if key else result).update(figures)
    return result
