"""The quality and arithmetic targets a bundled checkpoint is held to, checked against an ``evaluate`` report.

The README's table for each bundled checkpoint is ``report.markdown_table(report)`` of the JSON that
``ganlib evaluate CKPT --json`` printed (``--markdown`` prints the table itself), so the README cannot drift
from what the command measures; ``tests/test_bundled_checkpoints.py`` checks that. Each row of the scorecard
says what it shows (``text``) and against what (``target``); report.py only lays the rows out.

Targets (set for toonfaces at 64 px): FD ratio <= 2; every attribute class's generated frequency within 5
points of the real one; adding and removing sunglasses succeed on >= 95% of the faces that qualify while >= 90%
keep every other attribute (the joint rate, counted only over attributes the judge was sure of before the edit).
"""

from __future__ import annotations

import math

from .arithmetic import ADD_KEEP, ADD_SUCCESS, HEADLINE, METHODS, REMOVE_KEEP, REMOVE_SUCCESS
from .formatting import number, percent
from .quality import FD_RATIO

FD_RATIO_MAX = 2.0
FREQUENCY_GAP_MAX = 0.05
EDIT_SUCCESS_MIN = 0.95
EDIT_KEEP_MIN = 0.90
EDIT_ATTRIBUTE = "sunglasses"
DECIMALS = 1  # so that 94.6% is not shown as a 95% that missed a 95% target


def _frequency_gaps(attributes: dict) -> dict[str, float]:
    """{"smiling": |generated - real|, "hair=brown": ..., ...} for every attribute class."""
    gaps = {}
    for name, block in attributes.items():
        real, generated = block["real"], block["generated"]
        if isinstance(real, dict):
            gaps.update({f"{name}={cls}": abs(generated[cls] - real[cls]) for cls in real})
        else:
            gaps[name] = abs(generated - real)
    return gaps


def _edit_variants(report: dict, attribute: str) -> list[tuple[str, dict]]:
    """(label, {the four HEADLINE figures}) for each way of editing."""
    methods = report.get("arithmetic", {}).get(attribute, {})
    conditional = (report.get("entanglement") or {}).get("conditional", {}).get(attribute, {})
    strength = report["meta"]["strength"]
    variants = []
    for method in METHODS:
        if ADD_SUCCESS in methods.get(method, {}):
            variants.append((f"{method}, strength {strength:g}", methods[method]))
        if "conditional" in conditional.get(method, {}):
            variants.append((f"{method} conditional, strength {strength:g}", conditional[method]["conditional"]))
    per_face = methods.get("per_face_strength", {})
    if "success" in per_face.get("add", {}) and "success" in per_face.get("remove", {}):
        variants.append(
            (
                f"{per_face['method']} conditional, per-face strength",
                {
                    ADD_SUCCESS: per_face["add"]["success"],
                    ADD_KEEP: per_face["add"]["keep_others"],
                    REMOVE_SUCCESS: per_face["remove"]["success"],
                    REMOVE_KEEP: per_face["remove"]["keep_others"],
                },
            )
        )
    if "random" in methods.get("svm", {}):
        variants.append(("random direction as long as the svm step (baseline)", methods["svm"]["random"]))
    return variants


def _met(value, threshold: float, at_most: bool = False) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value <= threshold if at_most else value >= threshold


def _edit_text(figures: dict) -> str:
    return (
        f"add {percent(figures[ADD_SUCCESS], DECIMALS)} (keeps {percent(figures[ADD_KEEP], DECIMALS)}), "
        f"remove {percent(figures[REMOVE_SUCCESS], DECIMALS)} (keeps {percent(figures[REMOVE_KEEP], DECIMALS)})"
    )


def scorecard(report: dict, attribute: str = EDIT_ATTRIBUTE) -> list[dict]:
    """Rows of {figure, measured, text, target, met}: ``measured`` is a number, or a dict for edit rows; ``text``
    is how the measured value reads."""
    rows = [
        {
            "figure": "FD ratio",
            "measured": report.get(FD_RATIO),
            "text": number(report.get(FD_RATIO)),
            "target": f"≤ {FD_RATIO_MAX:g}",
            "met": _met(report.get(FD_RATIO), FD_RATIO_MAX, at_most=True),
        }
    ]
    gaps = _frequency_gaps(report.get("attributes") or {})
    if gaps:
        worst = max(gaps, key=gaps.get)
        rows.append(
            {
                "figure": f"largest frequency gap ({worst})",
                "measured": gaps[worst],
                "text": percent(gaps[worst], DECIMALS, " points"),
                "target": f"≤ {percent(FREQUENCY_GAP_MAX, unit=' points')}",
                "met": _met(gaps[worst], FREQUENCY_GAP_MAX, at_most=True),
                "gaps": gaps,
            }
        )
    if not report.get("arithmetic"):  # class-labelled data (digits, folders): which classes G draws, and how clearly
        for name, block in (report.get("coverage") or {}).items():
            rows.append(
                {
                    "figure": f"{name}: classes generated",
                    "measured": block["coverage"],
                    "text": f"{block['classes_seen']} of {block['classes']}",
                    "target": "all",
                    "met": block["classes_seen"] == block["classes"],
                }
            )
            rows.append(
                {
                    "figure": f"{name}: judge's mean confidence, generated (real)",
                    "measured": block["mean_confidence_generated"],
                    "text": f"{percent(block['mean_confidence_generated'])} ({percent(block['mean_confidence_real'])})",
                    "target": "-",
                    "met": None,
                }
            )
    for label, figures in _edit_variants(report, attribute):
        checks = [
            _met(figures.get(key), threshold)
            for key, threshold in (
                (ADD_SUCCESS, EDIT_SUCCESS_MIN),
                (ADD_KEEP, EDIT_KEEP_MIN),
                (REMOVE_SUCCESS, EDIT_SUCCESS_MIN),
                (REMOVE_KEEP, EDIT_KEEP_MIN),
            )
        ]
        measured = {key: figures.get(key) for key in HEADLINE}
        rows.append(
            {
                "figure": f"{attribute}: {label}",
                "measured": measured,
                "text": _edit_text(measured),
                "target": "-"
                if "baseline" in label
                else f"≥ {percent(EDIT_SUCCESS_MIN)}, keeps ≥ {percent(EDIT_KEEP_MIN)}",
                "met": None if None in checks or "baseline" in label else all(checks),
            }
        )
    return rows


def met_count(report: dict, attribute: str = EDIT_ATTRIBUTE) -> tuple[int, int]:
    """(targets met, targets) where the edit targets count as met if any editing method meets them."""
    rows = scorecard(report, attribute)
    plain = [row["met"] for row in rows if not isinstance(row["measured"], dict) and row["target"] != "-"]
    edits = [row["met"] for row in rows if isinstance(row["measured"], dict) and "baseline" not in row["figure"]]
    checks = plain + ([any(edits)] if edits else [])
    return sum(bool(check) for check in checks), len(checks)
