"""Edits that keep the person: how often each edit method adds (or removes) an attribute and keeps every other
one, judged by the bundled classifier and by a second judge that no edit was optimised against.

    python -m benchmarks.bench_edits [--checkpoint checkpoints/toonfaces64.safetensors] [--attribute sunglasses]
                                     [--faces 64] [--strength 1.5] [--json docs/bench_edits.json]

Faces are the first --faces latents from seed 1,000,000 on (evaluate's measuring seeds) that the bundled
classifier is sure lack the attribute (p < 0.1; "add") or have it (p > 0.9; "remove"). Each method moves them:
- arithmetic: z + strength x the class-mean distance x the direction (mean difference, SVM, conditional SVM);
- per-face: the shortest step along the mean difference that makes the classifier sure (directions.per_face_strength);
- keep the person: ganlib.guided_edit.keep_person's gradient steps from the per-face result.
"added" counts faces the judge sees with the attribute after (without it, for "remove"); "kept all" counts faces
that kept every other attribute the judge was sure of before (directions.keep_rates' "joint"). Seconds are per
face, wall, on this machine's threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ganlib.classifier import load_bundled_classifier
from ganlib.directions import (
    CONFIDENT,
    DEFAULT_MEASURE_SEED,
    attribute_probability,
    edit_latents,
    keep_rates,
    parse_attribute,
    per_face_strength,
)
from ganlib.explorer import Explorer
from ganlib.guided_edit import keep_person

from .bench_speed import cpu_flags
from .common import ROOT


def _judge(classifier, images) -> dict:
    return classifier.predict_proba(images)


def _faces(explorer, attribute: str, count: int, adding: bool) -> torch.Tensor:
    """The first ``count`` measuring latents the bundled classifier is sure lack (adding) or have the attribute."""
    chosen, seed = [], DEFAULT_MEASURE_SEED
    while len(chosen) < count and seed < DEFAULT_MEASURE_SEED + 50 * count:
        z = explorer.latents(range(seed, seed + 256))
        p = attribute_probability(explorer.attribute_probabilities(explorer.images(z)), attribute, explorer.attributes)
        keep = p < 1 - CONFIDENT if adding else p > CONFIDENT
        chosen += list(z[torch.as_tensor(keep)])
        seed += 256
    return torch.stack(chosen[:count])


def _score(judges: dict, explorer, attribute: str, before_images, after_images, adding: bool) -> dict:
    name, _ = parse_attribute(attribute, explorer.attributes)
    scores = {}
    for judge_name, judge in judges.items():
        before, after = _judge(judge, before_images), _judge(judge, after_images)
        p = attribute_probability(after, attribute, judge.attributes)
        added = p > 0.5 if adding else p < 0.5
        others = [other for other in judge.attributes if other != name]
        kept = keep_rates(before, after, judge.attributes, others, np.arange(len(after_images)))
        scores[judge_name] = {"added": float(added.mean()), "kept_all": kept["joint"],
                              "kept": {k: v for k, v in kept.items() if k != "joint"}}  # fmt: skip
    return scores


def _measure_side(explorer, judges: dict, attribute: str, count: int, strength: float, adding: bool) -> dict:
    z = _faces(explorer, attribute, count, adding)
    before_images = explorer.images(z)
    sign = 1.0 if adding else -1.0
    rows = {}

    def measure(label, make, extra_seconds=0.0):
        started = time.perf_counter()
        edited = make()
        seconds = extra_seconds + (time.perf_counter() - started) / len(z)
        after_images = explorer.images(edited)
        rows[label] = {
            "seconds_per_face": seconds,
            "z_step": float((edited - z).norm(dim=1).mean()),
            **_score(judges, explorer, attribute, before_images, after_images, adding),
        }
        return edited

    for method, conditional in (("mean_difference", False), ("svm", False), ("svm", True)):
        direction = explorer.direction(attribute, method, conditional=conditional)
        label = f"arithmetic, {method}{', conditional' if conditional else ''}"
        measure(label, lambda direction=direction: edit_latents(z, direction, sign * strength))
    direction = explorer.direction(attribute, "mean_difference")
    per_face = measure("per-face strength", lambda: per_face_strength(explorer, z, direction, max_strength=sign * 3)[1])
    per_face_seconds = rows["per-face strength"]["seconds_per_face"]
    measure(
        "keep the person (per-face + gradient steps)",
        lambda: keep_person(explorer, z, per_face, attribute, adding=adding),
        extra_seconds=per_face_seconds,
    )
    return rows


def run(checkpoint: Path, attribute: str, count: int, strength: float) -> dict:
    explorer = Explorer.from_checkpoint(checkpoint)
    judges = {"bundled judge": explorer.classifier}
    second = load_bundled_classifier(explorer.dataset_name, second=True)
    if second is not None:
        judges["second judge"] = second
    report = {
        "command": "python -m benchmarks.bench_edits " + " ".join(sys.argv[1:]),
        "checkpoint": str(checkpoint),
        "attribute": attribute,
        "faces": count,
        "strength": strength,
        "cpu_flags": cpu_flags(),
        "threads": torch.get_num_threads(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "judges": list(judges),
        "sides": {},
    }
    for side, adding in (("add", True), ("remove", False)):
        report["sides"][side] = _measure_side(explorer, judges, attribute, count, strength, adding)
    return report


def print_report(report: dict) -> None:
    print(f"{report['checkpoint']}: {report['attribute']}, {report['faces']} faces per side, strength "
          f"{report['strength']}; cpu flags {' '.join(report['cpu_flags'])}; {report['threads']} threads; "
          f"load {report['load_average'][0]}")  # fmt: skip
    judges = report["judges"]
    header = f"{'method':48s}{'s/face':>8}{'|dz|':>6}" + "".join(f"{j + ' added':>22}{'kept all':>10}" for j in judges)
    for side, rows in report["sides"].items():
        print(f"\n{side}:")
        print(header)
        for label, row in rows.items():
            cells = "".join(f"{row[j]['added']:>22.0%}{row[j]['kept_all']:>10.0%}" for j in judges)
            print(f"{label:48s}{row['seconds_per_face']:>8.2f}{row['z_step']:>6.2f}{cells}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "toonfaces64.safetensors"))
    parser.add_argument("--attribute", default="sunglasses")
    parser.add_argument("--faces", type=int, default=64)
    parser.add_argument("--strength", type=float, default=1.5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    report = run(Path(args.checkpoint), args.attribute, args.faces, args.strength)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
