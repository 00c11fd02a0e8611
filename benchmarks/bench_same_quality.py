"""Same quality: over a short run, does our trainer learn what the plain pytorch/examples loop learns?

    python -m benchmarks.bench_same_quality [--steps 1000] [--window 50] [--seed 0] [--n 2000] [--threads 2]
                                            [--json same_quality.json] [--png same_quality.png]

Both loops train the same DCGAN (32 px, batch 64, widths 64/64, z of 100, Adam 2e-4 with betas (0.5, 0.999)) on
the same data (ganlib's 30,000 procedural toonfaces, rendered from --seed) from the same initial weights (ganlib's
N(0, 0.02) draw for --seed, loaded into the reference's nets as its --netG and --netD options load a file):
1. ``ganlib.train.Trainer`` with a ``TrainConfig`` of the defaults, as ``ganlib train --dataset toonfaces
   --image-size 32`` runs it on a CPU (EMA, sample grids, checkpoints, ``--precision auto``; only ``log_every`` is
   set, to --window, so its own stats lines are the window means);
2. the plain loop of benchmarks/reference_dcgan.py (pytorch/examples' ``dcgan/main.py``).
Then it prints, side by side: the window means of loss_D, loss_G, D(x) and D(G(z)) (D's output on the fake batch
before D's step, main.py's first D(G(z))); the Fréchet distance of each generator's --n samples to --n real
toonfaces in the features of the bundled attribute classifier, and its ratio to the real-vs-real baseline, both
exactly as ``ganlib evaluate --n N --seed 0`` computes them (so they compare with the README's FD ratios); and a
PNG of real images and each generator's samples from the same 64 latents (the trainer's fixed grid noise). The
output names everything that differs between the loops (sampling from an EMA, batches, noise, the loss's
numerics), so a reader can judge whether a gap is the trainer's or the run's.

The default, 1,000 steps, should take about 8-9 minutes on a quiet 2-core CPU with 2 threads (an estimate from
bench_speed's quiet-machine rates at 32 px, batch 64: ours about 5 steps/s, the reference about 3.7; plus the data,
the sample grids and the Fréchet distances). It took 25 minutes on 1 thread with the machine shared (README).
One seed per loop: two runs of the same loop differ too, so a small gap may be noise. Not part of ``make bench``
(benchmarks/run.py), which it would make about 40% longer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ganlib.config import TrainConfig
from ganlib.data import load_dataset
from ganlib.devices import describe_device
from ganlib.directions import DEFAULT_MEASURE_SEED
from ganlib.ema import recalibrate_batchnorm
from ganlib.evaluation.judges import choose_judge
from ganlib.evaluation.quality import FD, FD_RATIO, FD_REAL_BASELINE, measure_quality
from ganlib.evaluation.real_images import load_real_images
from ganlib.images import generate, make_grid
from ganlib.latent import latents_for_seeds, sample_latents
from ganlib.models import Discriminator, Generator
from ganlib.threads import add_threads_option, apply_threads_option
from ganlib.train import SAMPLE_GRID_SIZE, Trainer, sample_diversity

from .bench_speed import cpu_flags
from .reference_dcgan import train_reference

IMAGE_SIZE, BATCH_SIZE, NUM_IMAGES = 32, 64, 30000
KEYS = ("loss_d", "loss_g", "d_real", "d_fake")
LABELS = {"loss_d": "loss_D", "loss_g": "loss_G", "d_real": "D(x)", "d_fake": "D(G(z))"}
# What the reference loop hard-codes; a TrainConfig default that strays from it is named in the output.
REFERENCE_SETTINGS = {
    "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "loss": "non-saturating", "d_steps": 1, "label_smoothing": 0.0,
    "instance_noise": 0.0, "latent_dim": 100, "generator_width": 64, "discriminator_width": 64,
}  # fmt: skip


def window_means(stats: list[dict], window: int, keys=KEYS) -> list[dict]:
    """Means of ``keys`` over consecutive windows of ``window`` steps (the last may be shorter), each labelled with
    its last step, counted from 1: the trainer's stats.jsonl lines with ``log_every=window``."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    rows = []
    for start in range(0, len(stats), window):
        chunk = stats[start : start + window]
        rows.append({"step": start + len(chunk), **{key: sum(row[key] for row in chunk) / len(chunk) for key in keys}})
    return rows


def span_mean(windows: list[dict], after_step: int = 0, keys=KEYS) -> dict:
    """Mean over the windows that end after ``after_step``, each weighted by its number of steps."""
    total, weights = dict.fromkeys(keys, 0.0), 0
    previous = 0
    for row in windows:
        length, previous = row["step"] - previous, row["step"]
        if row["step"] > after_step:
            weights += length
            for key in keys:
                total[key] += row[key] * length
    return {key: value / weights for key, value in total.items()} if weights else dict.fromkeys(keys, float("nan"))


def reference_weights(generator: Generator, discriminator: Discriminator) -> tuple[dict, dict]:
    """ganlib's G and D as state dicts of the reference's ``nn.Sequential`` nets: the same layers in the same order
    (G's ``net.i`` is its ``i``; D's ``features.i`` is its ``i`` and ``head`` the last convolution), as
    ganlib/dcgan_import.py maps them the other way."""
    net_g = {key: value.detach().contiguous().clone() for key, value in generator.net.state_dict().items()}
    net_d = {key: value.detach().contiguous().clone() for key, value in discriminator.features.state_dict().items()}
    net_d[f"{len(discriminator.features)}.weight"] = discriminator.head.weight.detach().contiguous().clone()
    return net_g, net_d


def as_ganlib_generator(net: torch.nn.Sequential, generator: Generator) -> Generator:
    """The reference's G as a ganlib Generator of ``generator``'s architecture (eval mode, its own BatchNorm
    running statistics), so that it is sampled by the same code as ours."""
    model = Generator(generator.config)
    model.net.load_state_dict(net.state_dict())
    return model.eval()


def differences(config: TrainConfig, precision: str, workers: int) -> list[str]:
    """Everything a reader needs to judge whether the two runs should match: what is shared, what is not."""
    strayed = {key: getattr(config, key) for key, value in REFERENCE_SETTINGS.items() if getattr(config, key) != value}
    return [
        "the same: architecture (32 px, widths 64/64, z of 100), initial weights (ganlib's draw for the seed, loaded "
        "into the reference), data (the same 30,000 renders), batch 64, "
        + (
            f"BUT ours sets {strayed}"
            if strayed
            else "Adam 2e-4 (0.5, 0.999), one D step per G step, no label smoothing or instance noise"
        ),
        "losses: the same functions (D: BCE on real + BCE on fake, G: non-saturating -log D(G(z)), computed on the "
        "batch after D's step); ours on logits (BCE with logits), the reference on Sigmoid outputs with nn.BCELoss, "
        "which clamps log at -100: they differ only once D saturates",
        "batches: ours draws indices with replacement from its seeded generator and scales the batch at once "
        f"(x / 127.5 - 1); the reference shuffles each epoch without replacement (DataLoader, {workers} workers) and "
        "scales image by image ((x / 255 - 0.5) / 0.5): different batches from the same images",
        "noise: ours from its own seeded generator, the reference from torch's global RNG: different z at every step, "
        "so the two runs part from step 1 and only their statistics can match",
        f"precision: ours {precision} (ganlib's --precision auto on this machine), the reference fp32; ours stores "
        "activations channels_last (strides only)",
        "sampling: ours samples from an EMA of G (decay 0.999, warming up from 0) with BatchNorm statistics re-measured "
        "on 1,024 latents, the file `ganlib train` writes; the reference has no EMA. To compare the weights the loops "
        "learn, not how they are sampled, both raw Gs are also sampled with re-measured BatchNorm; 'running BN' is "
        "the reference G in eval mode with the statistics it trained with (how its netG file samples)",
        "ours also writes a sample grid every 200 steps and a checkpoint at the end: its wall time includes them",
    ]


def quality(generators: dict[str, Generator], n: int, seed: int = 0) -> dict:
    """FD and FD ratio of each generator's n samples, as ``ganlib evaluate --n n --seed seed`` measures them: the
    same real toonfaces, judge, latents and baseline."""
    real_images, labels, real_attributes = load_real_images("toonfaces", IMAGE_SIZE, 2 * n, seed)
    judge, judge_info = choose_judge(
        {"dataset": {"name": "toonfaces"}}, None, real_images, labels, real_attributes, seed
    )
    latent_dim = next(iter(generators.values())).config.latent_dim
    z = latents_for_seeds(range(DEFAULT_MEASURE_SEED + seed, DEFAULT_MEASURE_SEED + seed + n), latent_dim)
    report = {"judge": judge_info["kind"], "n": n, "real_sample_diversity": sample_diversity(real_images[:n])}
    for name, generator in generators.items():
        with torch.no_grad():
            images = generate(generator, z)
        measured = measure_quality(judge, judge_info["kind"], images, None, real_images, labels, real_attributes, n)
        report["fd_real_baseline"] = measured[FD_REAL_BASELINE]
        report[name] = {
            "fd": measured[FD],
            "fd_ratio": measured[FD_RATIO],
            "sample_diversity": sample_diversity(images),
        }
    report["real_images"] = real_images[:SAMPLE_GRID_SIZE]
    return report


def sample_png(panels: dict[str, np.ndarray], path) -> Path:
    """The grids of ``panels`` ({title: uint8 [64, H, W, 3]}) side by side, each under its title."""
    from PIL import Image, ImageDraw

    grids = [make_grid(images, columns=8) for images in panels.values()]
    height, width = grids[0].shape[:2]
    title, gap = 16, 8
    canvas = Image.new("RGB", (len(grids) * (width + gap) - gap, height + title), "white")
    draw = ImageDraw.Draw(canvas)
    for index, (name, grid) in enumerate(zip(panels, grids)):
        left = index * (width + gap)
        canvas.paste(Image.fromarray(grid), (left, title))
        draw.text((left + 2, 2), name, fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette (median cut, dithered): about 200 KB where full colour took 560 KB for a README figure
    canvas.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def run(steps: int, window: int, seed: int, n: int, workers: int, png: str | None) -> dict:
    started = time.perf_counter()
    dataset = load_dataset("toonfaces", IMAGE_SIZE, num_images=NUM_IMAGES, seed=seed)
    report = {
        "machine": describe_device(torch.device("cpu")),
        "cpu_flags": cpu_flags(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "steps": steps,
        "window": window,
        "seed": seed,
        "batch_size": BATCH_SIZE,
        "image_size": IMAGE_SIZE,
        "command": "",
    }
    with tempfile.TemporaryDirectory(prefix="ganlib-same-quality-") as out:
        config = TrainConfig(
            dataset="toonfaces", out=out, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, steps=steps, seed=seed,
            log_every=window, num_images=NUM_IMAGES, device="cpu",
        )  # fmt: skip
        lines: list[dict] = []
        trainer = Trainer(
            config, callbacks=[lambda event, info: lines.append(info) if event == "log" else None], dataset=dataset
        )
        initial = reference_weights(trainer.generator, trainer.discriminator)
        print(f"ours: ganlib.train.Trainer, {steps} steps ...", flush=True)
        mark = time.perf_counter()
        trainer.run()
        ours_seconds = time.perf_counter() - mark
        print(f"  {ours_seconds:.0f} s", flush=True)
        print(f"reference: benchmarks/reference_dcgan.py, {steps} steps ...", flush=True)
        reference = train_reference(dataset.images, BATCH_SIZE, steps, workers, seed, initial_weights=initial)
        print(f"  {reference.seconds:.0f} s", flush=True)
        reference_g = as_ganlib_generator(reference.generator, trainer.generator)
        sample_seed = config.sample_seed
        generators = {
            "ours_ema": trainer.sampling_generator(),
            "ours_raw": recalibrate_batchnorm(trainer.generator, seed=sample_seed),
            "reference": recalibrate_batchnorm(reference_g, seed=sample_seed),
            "reference_running_bn": reference_g,
        }
        precision = trainer.precision
    print(f"Fréchet distance on {n} samples each ...", flush=True)
    measured = quality(generators, n)
    real_images = measured.pop("real_images")
    ours_windows = [{"step": line["step"], **{key: line[key] for key in KEYS}} for line in lines]
    reference_windows = window_means(reference.stats, window)
    half = steps // 2
    report.update(
        {
            "precision_ours": precision,
            "wall_seconds": {"ours": round(ours_seconds, 1), "reference": round(reference.seconds, 1)},
            "windows": {"ours": _rounded(ours_windows), "reference": _rounded(reference_windows)},
            "means": {
                "whole run": {"ours": span_mean(ours_windows), "reference": span_mean(reference_windows)},
                f"steps {half + 1}-{steps}": {
                    "ours": span_mean(ours_windows, half),
                    "reference": span_mean(reference_windows, half),
                },
            },
            "quality": measured,
            "differences": differences(config, precision, workers),
        }
    )
    if png:
        z = sample_latents(SAMPLE_GRID_SIZE, trainer.model_config.latent_dim, sample_seed)
        titles = {
            "ours_ema": "ours, EMA G",
            "ours_raw": "ours, raw G",
            "reference": "reference G",
        }
        panels = {"real toonfaces": real_images}
        with torch.no_grad():
            panels.update({title: generate(generators[name], z) for name, title in titles.items()})
        report["png"] = str(sample_png(panels, png))
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    return _rounded(report)


def _rounded(value, digits: int = 4):
    if isinstance(value, dict):
        return {key: _rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item, digits) for item in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), digits)
    return value


def print_report(report: dict) -> None:
    print(
        f"machine: {report['machine']}; cpu flags: {' '.join(report['cpu_flags']) or '-'}; "
        f"{report['threads']} torch threads; torch {report['torch']}; load average "
        f"{report['load_average_at_start'][0]} at the start, {report['load_average_at_end'][0]} at the end"
    )
    wall = report["wall_seconds"]
    steps = report["steps"]
    print(
        f"{steps} steps each, batch {report['batch_size']}, {report['image_size']} px, seed {report['seed']}: "
        f"ours {wall['ours']:.0f} s, reference {wall['reference']:.0f} s (wall time; inflated when the machine is shared)"
    )
    print("\nwhat differs between the two loops:")
    for line in report["differences"]:
        print(f"- {line}")
    print(f"\nmeans over windows of {report['window']} steps: ours | reference")
    print(f"{'steps':>11}" + "".join(f"{LABELS[key]:>17}" for key in KEYS))
    previous = 0
    for ours, reference in zip(report["windows"]["ours"], report["windows"]["reference"]):
        cells = "".join(f"{ours[key]:>8.3f} |{reference[key]:>6.3f}" for key in KEYS)
        print(f"{previous + 1:>5}-{ours['step']:<5}{cells}")
        previous = ours["step"]
    for span, means in report["means"].items():
        cells = "".join(f"{means['ours'][key]:>8.3f} |{means['reference'][key]:>6.3f}" for key in KEYS)
        print(f"{span:>11}{cells}")
    measured = report["quality"]
    print(f"\nFréchet distance, {measured['n']} samples against {measured['n']} real ({measured['judge']}), as "
          "`ganlib evaluate` measures it:")  # fmt: skip
    print(f"{'generator':44s} {'FD':>8} {'FD ratio':>9} {'diversity':>10}")
    baseline = measured["fd_real_baseline"]
    print(f"{'real vs real (the baseline)':44s} {baseline:>8.2f} {1:>9.2f} {measured['real_sample_diversity']:>10.3f}")
    names = {
        "ours_ema": "ours, EMA G (what `ganlib train` writes)",
        "ours_raw": "ours, raw G",
        "reference": "reference G",
        "reference_running_bn": "reference G, running BN",
    }
    for key, name in names.items():
        row = measured[key]
        print(f"{name:44s} {row['fd']:>8.2f} {row['fd_ratio']:>9.2f} {row['sample_diversity']:>10.3f}")
    print(
        f"ratio of FDs, ours raw G / reference G: {measured['ours_raw']['fd'] / measured['reference']['fd']:.2f}; "
        f"ours EMA G / reference G: {measured['ours_ema']['fd'] / measured['reference']['fd']:.2f}"
    )
    if report.get("png"):
        print(f"samples (the same 64 latents for every generator): {report['png']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="training steps of each loop (default %(default)s)")
    parser.add_argument("--window", type=int, default=50, help="steps per averaged window (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="weights, data and noise (default %(default)s)")
    parser.add_argument("--n", type=int, default=2000, help="samples per Fréchet distance, as evaluate's --n")
    parser.add_argument("--workers", type=int, default=2, help="the reference's DataLoader workers (main.py's 2)")
    parser.add_argument("--json", default=None, help="also write the report here")
    parser.add_argument("--png", default=None, help="write the sample grids here")
    add_threads_option(parser)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.window < 1 or args.n < 32:
        parser.error("--steps and --window must be at least 1, --n at least 32")
    apply_threads_option(args)
    report = run(args.steps, args.window, args.seed, args.n, args.workers, args.png)
    report["command"] = " ".join(["python -m benchmarks.bench_same_quality", *(sys.argv[1:] if argv is None else argv)])
    print()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
