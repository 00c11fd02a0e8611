"""An evaluation report as people read it: the readable report of ``ganlib evaluate``, the targets table of the
README (``--markdown``) and the summary on the dashboard's model card (``--write-metadata``)."""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import descriptive_metadata, load_discriminator, load_generator, save_generator
from ..directions import PER_FACE_MAX_STRENGTH, PER_FACE_TARGET
from .arithmetic import ADD_KEEP, ADD_SUCCESS, HEADLINE, METHODS, PER_FACE_METHOD, REMOVE_SUCCESS
from .formatting import number, percent, significant
from .quality import FD, FD_RATIO, FD_REAL_BASELINE
from .targets import EDIT_ATTRIBUTE, met_count, scorecard
from .unsupervised import FACES as UNSUPERVISED_FACES
from .unsupervised import STEP as UNSUPERVISED_STEP

SUMMARY_METHOD = "mean_difference"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (
            indent
            + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        ).rstrip()
        for row in rows
    ]


def _frequency_text(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {percent(v)}" for k, v in value.items())
    return percent(value)


# ---------------------------------------------------------------- the readable report, one block at a time


def _quality_lines(report: dict) -> list[str]:
    return ["QUALITY (Fréchet distance in the judge's feature space; lower is better)"] + _table(
        [
            ["FD generated vs real", significant(report[FD])],
            ["FD real vs real (baseline)", significant(report[FD_REAL_BASELINE])],
            ["FD ratio (1 = as good as real)", number(report[FD_RATIO])],
            ["images per set", str(report["fd_samples"])],
        ]
    )


def _attribute_lines(report: dict) -> list[str]:
    rows = [["attribute", "real", "generated"]]
    rows += [
        [name, _frequency_text(v["real"]), _frequency_text(v["generated"])] for name, v in report["attributes"].items()
    ]
    coverage = [["attribute", "classes shown", "confidence real", "confidence generated"]]
    coverage += [
        [
            name,
            f"{v['classes_seen']}/{v['classes']}",
            percent(v["mean_confidence_real"]),
            percent(v["mean_confidence_generated"]),
        ]
        for name, v in report["coverage"].items()
    ]
    return ["", "ATTRIBUTES (share of images, as the judge sees them)"] + _table(rows) + [""] + _table(coverage)


def _arithmetic_lines(report: dict) -> list[str]:
    meta, arithmetic = report["meta"], report["arithmetic"]
    lines = [
        "",
        f"ARITHMETIC at strength {meta['strength']} (add: faces the judge is sure lack it; remove: sure have "
        "it; keep: all other confident attributes unchanged)",
    ]
    rows = [["attribute", "method", "add", "keep", "remove", "keep", "random add", "keep", "random remove", "keep"]]
    sweep_rows = [["attribute", "method"] + [f"s={s:g}" for s in meta["sweep_strengths"]]]
    errors = []
    for attribute, methods in arithmetic.items():
        for method in METHODS:
            figures = methods.get(method, {})
            if "error" in figures:
                errors.append(f"  {attribute} by {method}: {figures['error']}")
                continue
            rows.append(
                [attribute, method]
                + [percent(figures[k]) for k in HEADLINE]
                + [percent(figures["random"][k]) for k in HEADLINE]
            )
            sweep_rows.append(
                [attribute, method]
                + [
                    f"{percent(p[ADD_SUCCESS])}/{percent(p[REMOVE_SUCCESS])} ({percent(p[ADD_KEEP])})"
                    for p in figures["sweep"]
                ]
            )
    lines += _table(rows) + errors
    lines += ["", f"STRENGTH SWEEP (n {meta['sweep_n']}; add / remove success, add's joint keep in brackets)"]
    lines += _table(sweep_rows)
    lines += [
        "",
        f"PER-FACE STRENGTH ({PER_FACE_METHOD}, conditional; each face moved until p >= {PER_FACE_TARGET} "
        f"or up to {PER_FACE_MAX_STRENGTH:g})",
    ]
    rows = [["attribute", "add reached", "median strength", "keep", "remove reached", "median strength", "keep"]]
    for attribute, methods in arithmetic.items():
        cells = []
        for label in ("add", "remove"):
            part = methods.get("per_face_strength", {}).get(label, {})
            cells += [
                percent(part.get("success")),
                number(part.get("median_strength")),
                percent(part.get("keep_others")),
            ]
        rows.append([attribute] + cells)
    return lines + _table(rows)


def _entanglement_lines(entanglement: dict) -> list[str]:
    names = entanglement["names"]
    rows = [[""] + [name.split("=")[-1][:10] for name in names]]
    rows += [[name] + [f"{c:+.2f}" for c in row] for name, row in zip(names, entanglement["cosine"])]
    strongest = ", ".join(f"{p['a']} ~ {p['b']} {p['cosine']:+.2f}" for p in entanglement["most_entangled"])
    lines = ["", "ENTANGLEMENT (cosine between mean-difference directions)"] + _table(rows)
    lines += [
        f"  most entangled: {strongest or '-'}",
        "",
        "  conditional directions (the other attributes' directions projected out), same strength: "
        "plain -> conditional",
    ]
    rows = [["attribute", "method", "add success", "add keep", "remove success", "remove keep", "step length"]]
    for attribute, methods in entanglement.get("conditional", {}).items():
        for method, figures in methods.items():
            if "error" not in figures:
                plain, conditional = figures["plain"], figures["conditional"]
                rows.append(
                    [attribute, method]
                    + [f"{percent(plain.get(k))} -> {percent(conditional[k])}" for k in HEADLINE]
                    + [f"{number(plain.get('step_length'))} -> {number(conditional.get('step_length'))}"]
                )
    return lines + _table(rows)


def _unsupervised_lines(unsupervised: dict) -> list[str]:
    lines = [
        "",
        f"UNSUPERVISED DIRECTIONS (each moved ±{unsupervised.get('step', UNSUPERVISED_STEP):g} on "
        f"{unsupervised.get('faces', UNSUPERVISED_FACES)} faces; change = mean p(+) - mean p(-); "
        "weight: SeFa eigenvalue, GANSpace variance fraction)",
    ]
    rows = [["method", "#", "weight", "changes most", "change"]]
    for method in ("sefa", "ganspace"):
        for row in unsupervised.get(method, []):
            weight = row.get("eigenvalue", row.get("variance_fraction"))
            rows.append(
                [
                    method,
                    str(row["index"]),
                    number(weight, 3),
                    row.get("top_attribute", "-"),
                    f"{row['change']:+.2f}" if row.get("change") is not None else "-",
                ]
            )
    return lines + _table(rows)


def target_lines(report: dict, attribute: str = EDIT_ATTRIBUTE) -> list[str]:
    """The targets scorecard for the readable report."""
    rows = scorecard(report, attribute)
    width = max(len(row["figure"]) for row in rows)
    verdict = {True: "met", False: "MISSED", None: "-"}
    return ["TARGETS (set for toonfaces at 64 px)"] + [
        f"  {row['figure']:<{width}}  {row['text']:<54}  "
        + ("no target" if row["target"] == "-" else f"target {row['target']}: {verdict[row['met']]}")
        for row in rows
    ]


def format_report(report: dict) -> list[str]:
    """The readable report: a header, then one aligned table per block."""
    meta = report["meta"]
    lines = [
        f"ganlib evaluate {meta['checkpoint']}",
        f"  {meta['dataset']}, n {meta['n']}, seed {meta['seed']}, strength {meta['strength']}, "
        f"{meta['seconds']['total']:.0f} s on {meta['device']}",
        f"  judge: {meta['judge']['kind']}",
        "",
    ]
    lines += _quality_lines(report)
    if report["attributes"]:
        lines += _attribute_lines(report)
    if report["arithmetic"]:
        lines += _arithmetic_lines(report)
    if (report.get("entanglement") or {}).get("names"):
        lines += _entanglement_lines(report["entanglement"])
    if report.get("unsupervised"):
        lines += _unsupervised_lines(report["unsupervised"])
    return lines + ([""] + target_lines(report) if report["attributes"] else [])


# ---------------------------------------------------------------- the README's table


def markdown_table(report: dict, attribute: str = EDIT_ATTRIBUTE) -> str:
    """The README's table: one row per target, measured against it."""
    verdict = {True: "yes", False: "**no**", None: "-"}
    lines = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for row in scorecard(report, attribute):
        lines.append(f"| {row['figure']} | {row['text']} | {row['target']} | {verdict[row['met']]} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the model card


def summary(report: dict) -> dict[str, str]:
    """A few lines for the model card: FD ratio and, per attribute, the default direction's add/remove figures."""
    lines = {"FD ratio": number(report.get(FD_RATIO), 1) + " (1 = as close as two real samples)"}
    for attribute, methods in report.get("arithmetic", {}).items():
        figures = methods.get(SUMMARY_METHOD, {})
        if "error" in figures or not figures:
            continue
        lines[f"{attribute} add / remove"] = (
            f"{percent(figures[ADD_SUCCESS])} / {percent(figures[REMOVE_SUCCESS])}"
            f", keeps others {percent(figures[ADD_KEEP])}"
        )
    per_face = (report.get("arithmetic", {}).get(EDIT_ATTRIBUTE) or {}).get("per_face_strength", {})
    if "success" in per_face.get("add", {}):
        lines[f"{EDIT_ATTRIBUTE}, per-face strength"] = (
            f"add {percent(per_face['add']['success'])} (keeps others {percent(per_face['add']['keep_others'])})"
            + (
                f", remove {percent(per_face['remove']['success'])} (keeps {percent(per_face['remove']['keep_others'])})"
                if "success" in per_face.get("remove", {})
                else ""
            )
        )
    if report.get("attributes"):
        met, total = met_count(report)
        lines["targets met"] = f"{met} of {total} (ganlib evaluate lists them)"
    meta = report.get("meta", {})
    step = f", at step {meta['training_steps']}" if meta.get("training_steps") is not None else ""
    lines["evaluated"] = f"n {meta.get('n')}, strength {meta.get('strength')}{step}, {str(meta.get('date', ''))[:10]}"
    return lines


def write_evaluation_metadata(checkpoint_path, report: dict) -> Path:
    """Store the summary (and the headline numbers) under metadata["evaluation"], rewriting the file with the
    same tensors: fp16 stays fp16, and the discriminator stays when there is one."""
    generator = load_generator(checkpoint_path)
    discriminator = load_discriminator(checkpoint_path)
    metadata = descriptive_metadata(generator.metadata)
    metadata["evaluation"] = {
        "summary": summary(report),
        **{key: report.get(key) for key in (FD, FD_REAL_BASELINE, FD_RATIO)},
        **{key: report["meta"][key] for key in ("n", "seed", "strength", "date")},
    }
    return save_generator(
        checkpoint_path,
        generator,
        metadata,
        discriminator=discriminator,
        half=generator.metadata.get("dtype") == "float16",
    )
