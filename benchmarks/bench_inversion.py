"""Projection (ganlib.inversion) measured against its targets, on pictures the models never saw.

    python -m benchmarks.bench_inversion [--n 100] [--n-random-start 16] [--threads 1] [--json inversion.json]

toonfaces64 (the bundled checkpoint, its bundled encoder and the bundled attribute classifier as the judge):
``--n`` faces rendered with seed 1000 (the GAN trained on seed-0 renders, the classifier on seeds 1 and 2, the
evaluation uses 3) are projected with the encoder (the CLI's defaults) and, since that costs about ten times
more, the first ``--n-random-start`` of them without it. For each way:
- kept: the share of faces on which every attribute the classifier reads (argmax of each of its heads) is the
  same on the reconstruction as on the input; target >= 95%;
- PSNR of reconstruction against input, beside the PSNR of random samples against the same inputs;
- seconds per image, target <= 5 s with the encoder (on a 2-core CPU);
- the dashboard's "Add sunglasses" edit (conditional SVM direction, strength 2) applied to the projected latents:
  add and remove success and the joint keep rate (ganlib.directions.measure_edit), beside the same edit on as
  many random samples.
digits32 (the bundled checkpoint, judged by a pixel classifier fitted on the real digits, as ``ganlib evaluate``
does): the same kept / PSNR / seconds, with an encoder trained here (``--digits-encoder-steps``) and without.
scikit-learn's 1,797 digits are all the GAN's training set: there is no held-out digit to project.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from ganlib.data.toonfaces import HELD_OUT_SEED

from .common import ROOT

FACES_SEED = HELD_OUT_SEED
TARGET_KEPT = 0.95
TARGET_SECONDS = 5.0
EDIT = {"attribute": "sunglasses", "method": "svm", "conditional": True, "strength": 2.0}  # the dashboard's demo


def _cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def _rgb(images: np.ndarray) -> np.ndarray:
    return images if images.shape[-1] == 3 else images.repeat(3, axis=-1)


def kept_rate(judge, inputs: np.ndarray, reconstructions: np.ndarray) -> tuple[float, dict]:
    """Share of images whose every attribute (argmax) the judge reads the same on both; and per attribute."""
    before, after = judge.predict_proba(_rgb(inputs)), judge.predict_proba(_rgb(reconstructions))
    same = {name: before[name].argmax(1) == after[name].argmax(1) for name in before}
    every = np.logical_and.reduce(list(same.values()))
    return float(every.mean()), {name: float(values.mean()) for name, values in same.items()}


def random_baseline_psnr(generator, inputs: np.ndarray, seed: int = 7) -> float:
    from ganlib.images import generate
    from ganlib.inversion import psnr
    from ganlib.latent import sample_latents

    samples = generate(generator, sample_latents(len(inputs), generator.config.latent_dim, seed))
    return float(psnr(samples, inputs).mean())


def run_projection(label, generator, images, judge, log, **options) -> dict:
    from ganlib.inversion import project

    started = time.perf_counter()
    result = project(generator, images, **options)
    seconds = time.perf_counter() - started
    kept, kept_each = kept_rate(judge, result.targets, result.reconstructions)
    figures = {
        "label": label,
        "n": len(images),
        "restarts": options.get("restarts"),
        "steps": options.get("steps"),
        "start": result.start,
        "perceptual": result.perceptual,
        "kept_all": kept,
        "kept_each": kept_each,
        "psnr": float(result.psnr.mean()),
        "seconds_per_image": seconds / len(images),
    }
    log(
        f"{label}: kept {kept:.1%}, PSNR {figures['psnr']:.2f} dB, {figures['seconds_per_image']:.2f} s/image "
        f"({len(images)} images)"
    )
    return {**figures, "_latents": result.latents}


def encoder_alone(label, generator, images, encoder, judge, log) -> dict:
    """The encoder's guess with no optimisation: what the starting point is worth."""
    from ganlib.images import generate
    from ganlib.inversion import psnr

    started = time.perf_counter()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    with torch.no_grad():
        z = encoder(x)
    reconstructions = generate(generator, z)
    seconds = time.perf_counter() - started
    kept, kept_each = kept_rate(judge, images, reconstructions)
    log(f"{label}: kept {kept:.1%}, PSNR {psnr(reconstructions, images).mean():.2f} dB")
    return {
        "label": label,
        "n": len(images),
        "kept_all": kept,
        "kept_each": kept_each,
        "psnr": float(psnr(reconstructions, images).mean()),
        "seconds_per_image": seconds / len(images),
    }


def edit_figures(explorer, latents: torch.Tensor, label: str, log) -> dict:
    from ganlib.directions import classify_latents, label_latents, measure_edit

    direction = explorer.direction(EDIT["attribute"], EDIT["method"], conditional=EDIT["conditional"])
    n = len(latents)
    projected = measure_edit(
        explorer, direction, EDIT["strength"], n=n, labelled=(latents, classify_latents(explorer, latents))
    )
    random = measure_edit(explorer, direction, EDIT["strength"], n=n, labelled=label_latents(explorer, n, 1_000_000))

    def summary(figures):
        return {
            "add_success": figures["add_success"],
            "add_faces": figures["add_faces"],
            "add_keep_others": figures["keep_others"]["joint"],
            "remove_success": figures["remove_success"],
            "remove_faces": figures["remove_faces"],
            "remove_keep_others": figures["remove_keep_others"]["joint"],
        }

    block = {"edit": EDIT, "projected": summary(projected), "random_samples": summary(random)}
    for name in ("projected", "random_samples"):
        f = block[name]
        log(
            f"{label} sunglasses edit on {name.replace('_', ' ')}: add {f['add_success']:.1%} of {f['add_faces']} "
            f"(keeps {f['add_keep_others']:.1%}), remove {f['remove_success']:.1%} of {f['remove_faces']} "
            f"(keeps {f['remove_keep_others']:.1%})"
        )
    return block


def toonfaces(n: int, n_random: int, log) -> dict:
    from ganlib.data.toonfaces import render_toonfaces
    from ganlib.encoder import find_encoder
    from ganlib.explorer import Explorer
    from ganlib.project_command import WITH_ENCODER, WITHOUT_ENCODER

    path = ROOT / "checkpoints" / "toonfaces64.safetensors"
    explorer = Explorer.from_checkpoint(path)
    generator, judge = explorer.generator, explorer.classifier
    encoder = find_encoder(path, generator)
    if encoder is None:
        raise SystemExit(f"no encoder beside {path}: python -m ganlib train-encoder {path}")
    faces, _ = render_toonfaces(n, seed=FACES_SEED, image_size=64)
    log(f"toonfaces64: {n} faces rendered with seed {FACES_SEED}")
    common = {"classifier": judge}
    restarts, steps = WITH_ENCODER
    with_encoder = run_projection(
        "toonfaces64 with encoder",
        generator,
        faces,
        judge,
        log,
        encoder=encoder,
        restarts=restarts,
        steps=steps,
        **common,
    )
    restarts, steps = WITHOUT_ENCODER
    without = run_projection(
        "toonfaces64 without encoder", generator, faces[:n_random], judge, log, restarts=restarts, steps=steps, **common
    )
    report = {
        "checkpoint": str(path.relative_to(ROOT)),
        "judge": "bundled attribute classifier",
        "inputs": f"{n} toonfaces renders, seed {FACES_SEED}, 64 px (never seen by the GAN or the classifier)",
        "random_sample_psnr": random_baseline_psnr(generator, faces),
        "encoder_alone": encoder_alone("toonfaces64 encoder alone", generator, faces, encoder, judge, log),
        "with_encoder": with_encoder,
        "without_encoder": without,
        "sunglasses": edit_figures(explorer, with_encoder["_latents"], "toonfaces64", log),
    }
    log(f"toonfaces64: random samples against the same faces: PSNR {report['random_sample_psnr']:.2f} dB")
    return report


def digits(n: int, n_random: int, encoder_steps: int, log) -> dict:
    from ganlib.checkpoint import load_discriminator, load_generator
    from ganlib.encoder import train_encoder
    from ganlib.evaluation.judges import PixelJudge
    from ganlib.evaluation.real_images import load_real_images
    from ganlib.project_command import WITH_ENCODER, WITHOUT_ENCODER

    path = ROOT / "checkpoints" / "digits32.safetensors"
    generator, discriminator = load_generator(path), load_discriminator(path)
    real, labels, attributes = load_real_images("digits", 32, 1797)
    judge = PixelJudge.fit(real, labels, attributes, seed=0)
    log(f"digits32: pixel judge fitted on {len(real)} real digits (held-out accuracy {judge.accuracy})")
    chosen = np.random.default_rng(FACES_SEED).choice(len(real), size=min(n, len(real)), replace=False)
    inputs = real[chosen][..., :1]  # the judge takes RGB; the model is grey
    started = time.perf_counter()
    encoder, encoder_report = train_encoder(generator, steps=encoder_steps, samples=10 * encoder_steps, width=16)
    log(f"digits32: encoder trained in {time.perf_counter() - started:.0f} s ({encoder_steps} steps)")
    common = {"discriminator": discriminator}
    restarts, steps = WITH_ENCODER
    with_encoder = run_projection(
        "digits32 with encoder",
        generator,
        inputs,
        judge,
        log,
        encoder=encoder,
        restarts=restarts,
        steps=steps,
        **common,
    )
    restarts, steps = WITHOUT_ENCODER
    without = run_projection(
        "digits32 without encoder", generator, inputs[:n_random], judge, log, restarts=restarts, steps=steps, **common
    )
    for block in (with_encoder, without):
        block.pop("_latents")
    report = {
        "checkpoint": str(path.relative_to(ROOT)),
        "judge": f"pixel PCA + logistic regression, held-out accuracy {judge.accuracy}",
        "inputs": f"{len(inputs)} of scikit-learn's digits (all of them were the GAN's training set)",
        "random_sample_psnr": random_baseline_psnr(generator, inputs),
        "encoder_training": encoder_report,
        "encoder_alone": encoder_alone("digits32 encoder alone", generator, inputs, encoder, judge, log),
        "with_encoder": with_encoder,
        "without_encoder": without,
    }
    log(f"digits32: random samples against the same digits: PSNR {report['random_sample_psnr']:.2f} dB")
    return report


def _rows(report: dict) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, ratio >= 1 meets it)."""
    rows = []
    for name in ("toonfaces64", "digits32"):
        block = report.get(name)
        if not block:
            continue
        for way in ("with_encoder", "without_encoder", "encoder_alone"):
            figures = block[way]
            ratio = figures["kept_all"] / TARGET_KEPT
            rows.append(
                (
                    f"{name} {way.replace('_', ' ')}: kept all attributes",
                    f"{figures['kept_all']:.1%}",
                    "≥ 95%",
                    f"{ratio:.2f}",
                )
            )
            rows.append(
                (
                    f"{name} {way.replace('_', ' ')}: PSNR",
                    f"{figures['psnr']:.2f} dB",
                    f"random {block['random_sample_psnr']:.2f} dB",
                    "-",
                )
            )
            if way != "encoder_alone":
                seconds = figures["seconds_per_image"]
                target = "≤ 5 s" if way == "with_encoder" else "-"
                ratio_text = f"{TARGET_SECONDS / seconds:.2f}" if way == "with_encoder" else "-"
                rows.append((f"{name} {way.replace('_', ' ')}: s/image", f"{seconds:.2f}", target, ratio_text))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="images projected with the encoder (default %(default)s)")
    parser.add_argument("--n-random-start", type=int, default=16, help="of those, projected without it too")
    parser.add_argument("--digits-encoder-steps", type=int, default=1000)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default %(default)s: the cores are shared)"
    )
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    report = {
        "machine": {
            "processor": _cpu_name(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.bench_inversion " + " ".join(argv if argv is not None else []),
    }
    n_random = min(args.n_random_start, args.n)
    report["toonfaces64"] = toonfaces(args.n, n_random, log)
    report["toonfaces64"]["with_encoder"].pop("_latents")
    report["toonfaces64"]["without_encoder"].pop("_latents")
    if not args.skip_digits:
        report["digits32"] = digits(args.n, n_random, args.digits_encoder_steps, log)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{'figure':58s} {'measured':>10s} {'target':>18s} {'ratio':>6s}")
    for figure, measured, target, ratio in _rows(report):
        print(f"{figure:58s} {measured:>10s} {target:>18s} {ratio:>6s}")
    print(
        f"load average {report['machine']['load_average_at_start']} at start, {report['machine']['load_average_at_end']} at end"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
