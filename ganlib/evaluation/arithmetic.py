"""Arithmetic: how often adding / removing each yes/no attribute works, and keeps the others, per way of finding
its direction; a strength sweep, a random direction as the baseline, conditional directions and per-face strengths.

Directions are fitted on ``fitting`` (seeds seed .. seed + n - 1), edits measured on ``measuring`` (seeds
measure_seed .. measure_seed + n - 1), the sweep and the per-face strengths on the first sweep_size(n) of those.
Each set comes labelled (ganlib.directions's ``labelled``): labelling it again for every direction and edit was
a fifth of the work.
"""

from __future__ import annotations

import math

import numpy as np

from ..directions import (
    CONFIDENT,
    PER_FACE_MAX_STRENGTH,
    PER_FACE_STEPS,
    PER_FACE_TARGET,
    attribute_probability,
    classify_latents,
    is_yes_no,
    keep_rates,
    measure_edit,
    parse_attribute,
    per_face_strength,
)

METHODS = ("exemplar3", "mean_difference", "svm")
CONDITIONAL_METHODS = ("mean_difference", "svm")  # exemplar triples are too noisy to condition on
PER_FACE_METHOD = "mean_difference"  # the dashboard's default direction
SWEEP_STRENGTHS = (0.5, 1.0, 2.0, 3.0)

# The four figures every edit is summarised by, in the report and its readers (report.py, targets.py)
ADD_SUCCESS, ADD_KEEP = "add_success", "add_keep_others"
REMOVE_SUCCESS, REMOVE_KEEP = "remove_success", "remove_keep_others"
HEADLINE = (ADD_SUCCESS, ADD_KEEP, REMOVE_SUCCESS, REMOVE_KEEP)


def sweep_size(n: int) -> int:
    """Faces for the strength sweep and per-face strengths: a quarter of n keeps the sweep as cheap as one strength."""
    return min(n, max(32, n // 4))


def _headline(figures: dict) -> dict:
    """The four HEADLINE figures from a result of ganlib.directions.measure_edit (whose own keys differ)."""
    return {
        ADD_SUCCESS: figures["add_success"],
        ADD_KEEP: figures["keep_others"]["joint"],
        REMOVE_SUCCESS: figures["remove_success"],
        REMOVE_KEEP: figures["remove_keep_others"]["joint"],
    }


def _first(labelled: tuple, count: int) -> tuple:
    """The first ``count`` latents of a labelled set: the same seeds, labelled already."""
    z, probabilities = labelled
    return z[:count], {name: values[:count] for name, values in probabilities.items()}


def _method_block(explorer, attribute, method, strength, n, seed, measure_seed, fitting, measuring, sweeping) -> dict:
    direction = explorer.direction(attribute, method, n=n, seed=seed, labelled=fitting)
    main = measure_edit(explorer, direction, strength, n=n, seed=measure_seed, labelled=measuring)
    block = {
        **_headline(main),
        "add_faces": main["add_faces"],
        "remove_faces": main["remove_faces"],
        "add_keep_each": {k: v for k, v in main["keep_others"].items() if k != "joint"},
        "remove_keep_each": {k: v for k, v in main["remove_keep_others"].items() if k != "joint"},
        "class_distance": direction.class_distance,
        "step_length": main["step_length"],
        "random": _headline(main["random"]),
        "sweep": [],
    }
    for sweep_strength in SWEEP_STRENGTHS:
        figures = measure_edit(
            explorer, direction, sweep_strength, n=len(sweeping[0]), seed=measure_seed, labelled=sweeping
        )
        random = {f"random_{k}": v for k, v in _headline(figures["random"]).items()}
        block["sweep"].append({"strength": sweep_strength, **_headline(figures), **random})
    return block


def _per_face_block(explorer, attribute, n, seed, fitting, sweeping) -> dict:
    """Each face of ``sweeping`` moved just far enough (conditional direction) for the judge to see the attribute
    added (p >= 0.9) or removed (p <= 0.1); keep rates over all those faces, the unfinished ones at the maximum
    strength."""
    z, before = sweeping
    direction = explorer.direction(attribute, PER_FACE_METHOD, conditional=True, n=n, seed=seed, labelled=fitting)
    p = attribute_probability(before, attribute, explorer.attributes)
    name, _ = parse_attribute(attribute, explorer.attributes)
    others = [other for other in explorer.attributes if other != name]
    block = {
        "method": PER_FACE_METHOD,
        "conditional": True,
        "target": PER_FACE_TARGET,
        "max_strength": PER_FACE_MAX_STRENGTH,
        "faces_tried": len(z),
    }
    for label, faces, limit in (
        ("add", np.flatnonzero(p < 1 - CONFIDENT), PER_FACE_MAX_STRENGTH),
        ("remove", np.flatnonzero(p > CONFIDENT), -PER_FACE_MAX_STRENGTH),
    ):
        if not len(faces):
            block[label] = {"faces": 0}
            continue
        strengths, edited = per_face_strength(explorer, z[faces], direction, PER_FACE_TARGET, limit, PER_FACE_STEPS)
        after = classify_latents(explorer, edited)
        keeps = keep_rates(
            {k: v[faces] for k, v in before.items()}, after, explorer.attributes, others, np.arange(len(faces))
        )
        reached = ~np.isnan(strengths)
        block[label] = {
            "faces": int(len(faces)),
            "success": float(reached.mean()),
            "median_strength": float(np.median(np.abs(strengths[reached]))) if reached.any() else math.nan,
            "keep_others": keeps["joint"],
            "keep_each": {k: v for k, v in keeps.items() if k != "joint"},
        }
    return block


def measure_arithmetic(explorer, strength, n, seed, measure_seed, fitting, measuring, log) -> tuple[dict, dict]:
    """(arithmetic, conditional comparison) for every yes/no attribute; a failure is recorded, not raised.
    ``fitting`` and ``measuring``: seeds seed.. and measure_seed.. (n of each), labelled."""
    binary = [name for name, classes in explorer.attributes.items() if is_yes_no(classes)]
    sweeping = _first(measuring, sweep_size(n))  # the sweep's and the per-face strengths' faces
    arithmetic, conditional = {}, {}
    for attribute in binary:
        arithmetic[attribute], conditional[attribute] = {}, {}
        for method in METHODS:
            log(f"arithmetic: {attribute} by {method}")
            try:
                arithmetic[attribute][method] = _method_block(
                    explorer, attribute, method, strength, n, seed, measure_seed, fitting, measuring, sweeping
                )
            except ValueError as error:
                arithmetic[attribute][method] = {"error": str(error)}
        for method in CONDITIONAL_METHODS:
            plain = arithmetic[attribute].get(method, {})
            try:
                direction = explorer.direction(attribute, method, conditional=True, n=n, seed=seed, labelled=fitting)
                measured = measure_edit(explorer, direction, strength, n=n, seed=measure_seed, labelled=measuring)
                # projecting the others out shortens the class-mean distance, so the same strength is a shorter step
                figures = {**_headline(measured), "step_length": measured["step_length"]}
                conditional[attribute][method] = {"plain": {k: plain.get(k) for k in figures}, "conditional": figures}
            except ValueError as error:
                conditional[attribute][method] = {"error": str(error)}
        try:
            per_face = _per_face_block(explorer, attribute, n, seed, fitting, sweeping)
            arithmetic[attribute]["per_face_strength"] = per_face
        except ValueError as error:
            arithmetic[attribute]["per_face_strength"] = {"error": str(error)}
    return arithmetic, conditional
