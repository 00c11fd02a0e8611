"""The quality and arithmetic targets a bundled checkpoint is held to, checked against an ``evaluate`` report.

The README's table for each bundled checkpoint is ``markdown_table(report)`` of the JSON that
``ganlib evaluate CKPT --json`` printed (``--markdown`` prints the table itself), so the README cannot drift
from what the command measures; ``tests/test_bundled_checkpoints.py`` checks that.

Targets (issue 5, for toonfaces at 64 px): FD ratio <= 2; every attribute class's generated frequency within 5
points of the real one; adding and removing sunglasses succeed on >= 95% of the faces that qualify while >= 90%
keep every other attribute (the joint rate, counted only over attributes the judge was sure of before the edit).
"""
from __future__ import annotations

import math

FD_RATIO_MAX = 2.0
FREQUENCY_GAP_MAX = 0.05
EDIT_SUCCESS_MIN = 0.95
EDIT_KEEP_MIN = 0.90
EDIT_ATTRIBUTE = "sunglasses"


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
    """(label, {add_success, add_keep_others, remove_success, remove_keep_others}) for each way of editing."""
    methods = report.get("arithmetic", {}).get(attribute, {})
    conditional = (report.get("entanglement") or {}).get("conditional", {}).get(attribute, {})
    strength = report["meta"]["strength"]
    variants = []
    for method in ("exemplar3", "mean_difference", "svm"):
        if "add_success" in methods.get(method, {}):
            variants.append((f"{method}, strength {strength:g}", methods[method]))
        if "conditional" in conditional.get(method, {}):
            variants.append((f"{method} conditional, strength {strength:g}", conditional[method]["conditional"]))
    per_face = methods.get("per_face_strength", {})
    if "success" in per_face.get("add", {}) and "success" in per_face.get("remove", {}):
        variants.append((f"{per_face['method']} conditional, per-face strength",
                         {"add_success": per_face["add"]["success"], "add_keep_others": per_face["add"]["keep_others"],
                          "remove_success": per_face["remove"]["success"],
                          "remove_keep_others": per_face["remove"]["keep_others"]}))
    if "random" in methods.get("svm", {}):
        variants.append(("random direction as long as the svm step (baseline)", methods["svm"]["random"]))
    return variants


def _met(value, threshold: float, at_most: bool = False) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value <= threshold if at_most else value >= threshold


def scorecard(report: dict, attribute: str = EDIT_ATTRIBUTE) -> list[dict]:
    """Rows of {figure, measured, target, met}; ``measured`` is a number, or a dict for edit rows."""
    rows = [{"figure": "FD ratio", "measured": report.get("fd_ratio"), "target": f"≤ {FD_RATIO_MAX:g}",
             "met": _met(report.get("fd_ratio"), FD_RATIO_MAX, at_most=True)}]
    gaps = _frequency_gaps(report.get("attributes") or {})
    if gaps:
        worst = max(gaps, key=gaps.get)
        rows.append({"figure": f"largest frequency gap ({worst})", "measured": gaps[worst],
                     "target": f"≤ {100 * FREQUENCY_GAP_MAX:.0f} points",
                     "met": _met(gaps[worst], FREQUENCY_GAP_MAX, at_most=True), "gaps": gaps})
    if not report.get("arithmetic"):  # class-labelled data (digits, folders): which classes G draws, and how clearly
        for name, block in (report.get("coverage") or {}).items():
            rows.append({"figure": f"{name}: classes generated", "measured": block["coverage"],
                         "text": f"{block['classes_seen']} of {block['classes']}", "target": "all",
                         "met": block["classes_seen"] == block["classes"]})
            rows.append({"figure": f"{name}: judge's mean confidence, generated (real)",
                         "measured": block["mean_confidence_generated"],
                         "text": f"{100 * block['mean_confidence_generated']:.0f}% "
                                 f"({100 * block['mean_confidence_real']:.0f}%)", "target": "-", "met": None})
    for label, figures in _edit_variants(report, attribute):
        checks = [_met(figures.get(key), threshold) for key, threshold in (
            ("add_success", EDIT_SUCCESS_MIN), ("add_keep_others", EDIT_KEEP_MIN),
            ("remove_success", EDIT_SUCCESS_MIN), ("remove_keep_others", EDIT_KEEP_MIN))]
        rows.append({"figure": f"{attribute}: {label}", "measured": {k: figures.get(k) for k in (
            "add_success", "add_keep_others", "remove_success", "remove_keep_others")},
            "target": "-" if "baseline" in label else f"≥ {100 * EDIT_SUCCESS_MIN:.0f}%, keeps ≥ {100 * EDIT_KEEP_MIN:.0f}%",
            "met": None if None in checks or "baseline" in label else all(checks)})
    return rows


def _percent(value) -> str:
    """One decimal, so that 94.6% is not shown as a 95% that missed a 95% target."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def _measured_text(row: dict) -> str:
    if "text" in row:
        return row["text"]
    measured = row["measured"]
    if isinstance(measured, dict):
        return (f"add {_percent(measured['add_success'])} (keeps {_percent(measured['add_keep_others'])}), "
                f"remove {_percent(measured['remove_success'])} (keeps {_percent(measured['remove_keep_others'])})")
    if row["figure"] == "FD ratio":
        return "-" if measured is None else f"{measured:.2f}"
    return f"{100 * measured:.1f} points"


def _met_text(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]


def markdown_table(report: dict, attribute: str = EDIT_ATTRIBUTE) -> str:
    """The README's table: one row per target, measured against it."""
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for row in scorecard(report, attribute):
        lines.append(f"| {row['figure']} | {_measured_text(row)} | {row['target']} | {_met_text(row['met'])} |")
    return "\n".join(lines)


def text_lines(report: dict, attribute: str = EDIT_ATTRIBUTE) -> list[str]:
    """The same rows for the readable report."""
    rows = scorecard(report, attribute)
    width = max(len(row["figure"]) for row in rows)
    verdict = {True: "met", False: "MISSED", None: "-"}
    return ["TARGETS (issue 5, set for toonfaces at 64 px)"] + [
        f"  {row['figure']:<{width}}  {_measured_text(row):<54}  "
        + ("no target" if row["target"] == "-" else f"target {row['target']}: {verdict[row['met']]}") for row in rows]


def met_count(report: dict, attribute: str = EDIT_ATTRIBUTE) -> tuple[int, int]:
    """(targets met, targets) where the edit targets count as met if any editing method meets them."""
    rows = scorecard(report, attribute)
    plain = [row["met"] for row in rows if not isinstance(row["measured"], dict) and row["target"] != "-"]
    edits = [row["met"] for row in rows if isinstance(row["measured"], dict) and "baseline" not in row["figure"]]
    checks = plain + ([any(edits)] if edits else [])
    return sum(bool(check) for check in checks), len(checks)
