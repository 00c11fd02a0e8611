"""Quality per CPU-minute: which training recipe gives the best generator for a fixed CPU budget?

    python -m benchmarks.bench_recipe [--minutes 5] [--every 1] [--recipes defaults,reference,noise,...]
                                      [--seeds 0] [--dataset toonfaces] [--image-size 32] [--steps 2000]
                                      [--threads 1] [--parallel 2] [--n 2000]
                                      [--json docs/bench_recipe.json] [--png docs/bench_recipe.png]
                                      [--grids docs/bench_recipe_grids.png]

Each recipe (a set of ``ganlib train`` settings, or the plain pytorch/examples loop of
benchmarks/reference_dcgan.py) trains in its own process with --threads torch threads until it has used --minutes
of CPU time (``time.process_time``, so a shared machine slows a run down without shortening its budget). Every
--every CPU-minutes it keeps a copy of the generator it would sample from (ours: the EMA with re-measured BatchNorm,
as ``ganlib train`` writes it; the reference: its G with re-measured BatchNorm); making that copy is not counted.
Up to --parallel recipes train at once. Afterwards every copy is scored as ``ganlib evaluate --quality-only --n N``
scores a checkpoint: the Fréchet distance ratio to the real-vs-real baseline in the bundled attribute classifier's
features, and the largest gap, in points, between an attribute's frequency in generated and real images.

It prints a table (one row per recipe and seed: the FD ratio at every mark, the largest gap at the end, steps done),
and writes the curves (FD ratio against CPU minutes, PNG), the JSON, and optionally the sample grids of chosen
recipes at every mark (the same 64 latents). --steps is the run's length as the sidebar form sets it (2,000 steps),
which also sets when instance noise reaches 0; a recipe that finishes its steps early stops there.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RECIPES: dict[str, dict] = {
    "defaults": {},  # whatever TrainConfig's defaults are in this checkout
    "previous-defaults": {"instance_noise": 0.0},  # the defaults before bench_recipe's first comparison
    "reference": {"loop": "reference"},  # benchmarks/reference_dcgan.py: pytorch/examples' dcgan/main.py
    "paper": {"instance_noise": 0.0, "instance_noise_floor": 0.0, "ema": False, "augment": "none", "r1_gamma": 0.0,
              "discriminator_lr": 0.0},  # our loop with nothing the DCGAN paper lacks
    "noise": {"instance_noise": 0.1},
    "noise-floor": {"instance_noise": 0.1, "instance_noise_floor": 0.05},
    "noise-0.2": {"instance_noise": 0.2},
    "d-lr-half": {"discriminator_lr": 1e-4},
    "g-lr-double": {"lr": 4e-4, "discriminator_lr": 2e-4},
    "r1": {"r1_gamma": 1.0},
    "augment": {"augment": "color-translation-cutout"},
    "translation": {"augment": "translation"},
    "batch-32": {"batch_size": 32},
    "widths-32": {"generator_width": 32, "discriminator_width": 32},
    "ema-0.99": {"ema_decay": 0.99},
    "noise+d-lr-half": {"instance_noise": 0.1, "discriminator_lr": 1e-4},
    "noise+r1": {"instance_noise": 0.1, "r1_gamma": 1.0},
    "noise+ema-0.99": {"instance_noise": 0.1, "ema_decay": 0.99},
    "noise+widths-32": {"instance_noise": 0.1, "generator_width": 32, "discriminator_width": 32},
    "noise+batch-32": {"instance_noise": 0.1, "batch_size": 32},
    "noise+translation": {"instance_noise": 0.1, "augment": "translation"},
}  # fmt: skip
DEFAULT_RECIPES = (
    "defaults,previous-defaults,reference,noise+batch-32,noise+widths-32,noise+d-lr-half,noise+r1,ema-0.99"
)
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (0, 0, 0), (100, 100, 255)]  # fmt: skip


# ------------------------------------------------------------------------------------ one recipe, in a child process
def _snapshot_path(directory: Path, index: int) -> Path:
    return directory / f"snapshot_{index:02d}.safetensors"


def _save_snapshot(generator, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({key: value.contiguous() for key, value in generator.state_dict().items()}, str(path))


def _train_ours(job: dict, directory: Path, marks: list[float], record) -> None:
    from ganlib.config import TrainConfig
    from ganlib.train import Trainer

    settings = {key: value for key, value in RECIPES[job["recipe"]].items()}
    config = TrainConfig(
        dataset=job["dataset"], image_size=job["image_size"], steps=job["steps"], seed=job["seed"],
        num_images=job.get("num_images", 30000), out=str(directory / "run"), sample_every=10_000_000, checkpoint_every=10_000_000, checkpoint_minutes=10_000,
        log_every=5, **settings,
    )  # fmt: skip
    holder = {}
    clock = {"start": None, "excluded": 0.0}

    def callback(event: str, info: dict) -> None:
        if event == "start":
            clock["start"] = time.process_time()
        if event != "log" or clock["start"] is None:
            return
        used = time.process_time() - clock["start"] - clock["excluded"]
        trainer = holder["trainer"]
        while marks and used >= marks[0] * 60:
            before = time.process_time()
            record(trainer.sampling_generator(), info["step"], used)
            clock["excluded"] += time.process_time() - before
            marks.pop(0)
        if not marks:
            trainer.request_stop()

    trainer = Trainer(config, callbacks=[callback])
    holder["trainer"] = trainer
    job["model_config"] = trainer.model_config.to_dict()
    trainer.run()
    if marks:  # finished its steps before the budget: its final generator stands for the remaining marks
        used = time.process_time() - clock["start"] - clock["excluded"]
        record(trainer.sampling_generator(), trainer.step, used)


def _train_reference(job: dict, directory: Path, marks: list[float], record) -> None:
    from ganlib.config import ModelConfig
    from ganlib.data import load_dataset
    from ganlib.ema import recalibrate_batchnorm
    from ganlib.models import Discriminator, Generator

    from .bench_same_quality import as_ganlib_generator, reference_weights
    from .reference_dcgan import train_reference

    dataset = load_dataset(job["dataset"], job["image_size"], num_images=job.get("num_images", 30000), seed=job["seed"])
    model = ModelConfig(image_size=job["image_size"], channels=dataset.channels)
    job["model_config"] = model.to_dict()
    torch.manual_seed(job["seed"])  # ganlib's initial draw for the seed, loaded into the reference's nets
    weights = reference_weights(Generator(model), Discriminator(model))
    clock = {"start": time.process_time(), "excluded": 0.0}

    def on_step(done: int, net_g) -> bool:
        used = time.process_time() - clock["start"] - clock["excluded"]
        while marks and used >= marks[0] * 60:
            before = time.process_time()
            record(recalibrate_batchnorm(as_ganlib_generator(net_g, Generator(model))), done, used)
            net_g.train()
            clock["excluded"] += time.process_time() - before
            marks.pop(0)
        return not marks or done >= job["steps"]

    train_reference(
        dataset.images, 64, 10_000_000, workers=0, seed=job["seed"], initial_weights=weights, on_step=on_step
    )


def run_child(job: dict) -> None:
    """Train one recipe (``job``) and write its snapshots and their CPU times to job['dir']/snapshots.json."""
    torch.set_num_threads(job["threads"])
    directory = Path(job["dir"])
    marks = [job["every"] * (i + 1) for i in range(int(round(job["minutes"] / job["every"])))]
    snapshots = []

    def record(generator, step: int, used: float) -> None:
        path = _snapshot_path(directory, len(snapshots))
        _save_snapshot(generator, path)
        snapshots.append({"step": int(step), "cpu_minutes": used / 60, "path": str(path)})

    started = time.time()
    if RECIPES[job["recipe"]].get("loop") == "reference":
        _train_reference(job, directory, list(marks), record)
    else:
        _train_ours(job, directory, list(marks), record)
    job.update(snapshots=snapshots, wall_seconds=time.time() - started)
    (directory / "snapshots.json").write_text(json.dumps(job))


# ------------------------------------------------------------------------------------ scoring
class Scorer:
    """Scores generators as ``ganlib evaluate --quality-only --n n --seed 0`` does: the same real images, judge
    and latents."""

    def __init__(self, dataset: str, image_size: int, n: int):
        from ganlib.directions import DEFAULT_MEASURE_SEED
        from ganlib.evaluation.judges import choose_judge
        from ganlib.evaluation.real_images import load_real_images

        self.real_images, self.labels, self.real_attributes = load_real_images(dataset, image_size, 2 * n, 0)
        self.n = min(n, len(self.real_images) // 2)
        metadata = {"dataset": {"name": dataset}}
        self.judge, info = choose_judge(metadata, None, self.real_images, self.labels, self.real_attributes, 0)
        self.judge_kind = info["kind"]
        self.seeds = range(DEFAULT_MEASURE_SEED, DEFAULT_MEASURE_SEED + self.n)

    def score(self, generator) -> dict:
        from ganlib.evaluation.quality import FD_RATIO, measure_quality
        from ganlib.evaluation.targets import _frequency_gaps
        from ganlib.images import generate
        from ganlib.latent import latents_for_seeds

        with torch.no_grad():
            images = generate(generator, latents_for_seeds(self.seeds, generator.config.latent_dim))
        probabilities = self.judge.predict_proba(images) if self.judge.attributes else None
        measured = measure_quality(
            self.judge, self.judge_kind, images, probabilities, self.real_images, self.labels,
            self.real_attributes, self.n,
        )  # fmt: skip
        gaps = _frequency_gaps(measured.get("attributes") or {})
        worst = max(gaps, key=gaps.get) if gaps else ""
        return {"fd_ratio": measured[FD_RATIO], "largest_gap": 100 * gaps[worst] if gaps else 0.0, "gap_of": worst}


def load_snapshot(job: dict, index: int):
    from safetensors.torch import load_file

    from ganlib.config import ModelConfig
    from ganlib.models import Generator

    generator = Generator(ModelConfig.from_dict(job["model_config"]))
    generator.load_state_dict(load_file(job["snapshots"][index]["path"]))
    return generator.eval()


# ------------------------------------------------------------------------------------ the whole benchmark
def run_jobs(jobs: list[dict], parallel: int) -> None:
    """Run the children, ``parallel`` at a time; a child that fails is reported, not fatal."""
    waiting, running = list(jobs), []
    while waiting or running:
        while waiting and len(running) < parallel:
            job = waiting.pop(0)
            finished = Path(job["dir"]) / "snapshots.json"
            if finished.is_file():  # --workdir of an earlier, interrupted comparison: this run is done already
                job.update(json.loads(finished.read_text()))
                print(f"reused {job['recipe']} (seed {job['seed']}) from {finished}", flush=True)
                continue
            Path(job["dir"]).mkdir(parents=True, exist_ok=True)
            log = open(Path(job["dir"]) / "log.txt", "w")  # noqa: SIM115 (closed when the child ends)
            command = [sys.executable, "-m", "benchmarks.bench_recipe", "--child", json.dumps(job)]
            env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"])}
            running.append((job, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), log))
            print(f"started {job['recipe']} (seed {job['seed']})", flush=True)
        time.sleep(2)
        for entry in list(running):
            job, process, log = entry
            if process.poll() is None:
                continue
            running.remove(entry)
            log.close()
            result = Path(job["dir"]) / "snapshots.json"
            if process.returncode == 0 and result.is_file():
                job.update(json.loads(result.read_text()))
                print(f"done {job['recipe']} (seed {job['seed']}): {job['snapshots'][-1]['step']} steps", flush=True)
            else:
                tail = (Path(job["dir"]) / "log.txt").read_text()[-600:]
                job["error"] = f"exit {process.returncode}: {tail}"
                print(f"FAILED {job['recipe']} (seed {job['seed']}): {tail}", flush=True)


def draw_curves(report: dict, path: Path) -> Path:
    """FD ratio (log scale) against CPU minutes, one line per recipe and seed, with a legend; PIL only."""
    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 960, 560, 70, 230, 40, 50
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    rows = [row for row in report["rows"] if row["points"]]
    ratios = [p["fd_ratio"] for row in rows for p in row["points"] if p["fd_ratio"] and p["fd_ratio"] > 0]
    minutes = [p["cpu_minutes"] for row in rows for p in row["points"]]
    if not ratios:
        return path
    low, high = math.log10(max(min(ratios) * 0.8, 0.5)), math.log10(max(ratios) * 1.2)
    x_max = max(minutes) * 1.05

    def xy(minute: float, ratio: float) -> tuple[float, float]:
        x = left + (width - left - right) * minute / x_max
        y = top + (height - top - bottom) * (1 - (math.log10(ratio) - low) / (high - low))
        return x, y

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for tick in (1, 2, 4, 8, 16, 32, 64, 128):
        if low <= math.log10(tick) <= high:
            _, y = xy(0, tick)
            draw.line([left, y, width - right, y], fill=(225, 225, 225))
            draw.text((left - 30, y - 6), f"{tick:>3}", fill="black")
    for minute in range(0, int(x_max) + 1):
        x, _ = xy(minute, 10**low)
        draw.text((x - 3, height - bottom + 6), str(minute), fill="black")
    draw.text((left + (width - left - right) // 2 - 40, height - 22), "CPU minutes", fill="black")
    draw.text((8, 12), f"FD ratio (log scale, lower is better) - {report['title']}", fill="black")
    for index, row in enumerate(rows):
        colour = COLOURS[index % len(COLOURS)]
        points = [xy(p["cpu_minutes"], p["fd_ratio"]) for p in row["points"] if p["fd_ratio"] and p["fd_ratio"] > 0]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        label = f"{row['recipe']} s{row['seed']}: {row['points'][-1]['fd_ratio']:.1f}"
        draw.text((width - right + 10, top + 16 * index), label, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)
    return path


def draw_grids(report: dict, jobs: list[dict], recipes: list[str], path: Path) -> Path:
    """The chosen recipes' samples at every mark from the same 64 latents, one row per recipe."""
    from PIL import Image, ImageDraw

    from ganlib.images import generate, make_grid
    from ganlib.latent import sample_latents

    rows = []
    for recipe in recipes:
        job = next((j for j in jobs if j["recipe"] == recipe and j.get("snapshots")), None)
        if job is None:
            continue
        panels = []
        for index, snapshot in enumerate(job["snapshots"]):
            generator = load_snapshot(job, index)
            with torch.no_grad():
                images = generate(generator, sample_latents(36, generator.config.latent_dim, 0))
            panels.append((f"{recipe}, {snapshot['cpu_minutes']:.1f} CPU-min", make_grid(images, columns=6)))
        rows.append(panels)
    if not rows:
        return path
    side, gap, title = rows[0][0][1].shape[0], 8, 16
    columns = max(len(row) for row in rows)
    canvas = Image.new("RGB", (columns * (side + gap), len(rows) * (side + title + gap)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        for c, (label, grid) in enumerate(row):
            x, y = c * (side + gap), r * (side + title + gap)
            canvas.paste(Image.fromarray(grid), (x, y + title))
            draw.text((x + 2, y + 2), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def run(args) -> dict:
    from ganlib.devices import describe_device

    from .bench_speed import cpu_flags

    recipes = [name.strip() for name in args.recipes.split(",") if name.strip()]
    unknown = [name for name in recipes if name not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
    started = time.time()
    report = {
        "command": "python -m benchmarks.bench_recipe " + " ".join(sys.argv[1:]),
        "machine": describe_device(torch.device("cpu")),
        "cpu_flags": cpu_flags(),
        "torch": torch.__version__,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "title": f"{args.dataset} {args.image_size} px, {args.threads} thread(s), {args.steps} steps at most",
        "recipes": {name: RECIPES[name] for name in recipes},
        "date": time.strftime("%Y-%m-%d"),
    }
    with contextlib.ExitStack() as stack:
        scratch = args.workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-recipe-"))
        jobs = [
            {
                "recipe": recipe, "seed": seed, "dir": str(Path(scratch) / f"{recipe}-{seed}"),
                "dataset": args.dataset, "image_size": args.image_size, "steps": args.steps,
                "threads": args.threads, "minutes": args.minutes, "every": args.every, "num_images": args.num_images,
            }
            for seed in args.seeds for recipe in recipes
        ]  # fmt: skip
        run_jobs(jobs, args.parallel)
        print("scoring the snapshots", flush=True)
        scorer = Scorer(args.dataset, args.image_size, args.n)
        report["n"], report["judge"] = scorer.n, scorer.judge_kind
        report["rows"] = []
        for job in jobs:
            row = {"recipe": job["recipe"], "seed": job["seed"], "points": [], "error": job.get("error", "")}
            for index, snapshot in enumerate(job.get("snapshots", [])):
                row["points"].append({**{k: snapshot[k] for k in ("step", "cpu_minutes")}, **scorer.score(
                    load_snapshot(job, index))})  # fmt: skip
            if job.get("wall_seconds"):
                row["wall_seconds"] = job["wall_seconds"]
            report["rows"].append(row)
        if args.png:
            report["png"] = str(draw_curves(report, Path(args.png)))
        if args.grids:
            report["grids"] = str(draw_grids(report, jobs, args.grid_recipes.split(","), Path(args.grids)))
    report["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    report["total_seconds"] = round(time.time() - started)
    return report


def print_report(report: dict) -> None:
    print(
        f"machine: {report['machine']}; cpu flags: {' '.join(report['cpu_flags']) or '-'}; torch {report['torch']}; "
        f"load average {report['load_average_at_start'][0]} at the start, {report['load_average_at_end'][0]} at the end"
    )
    print(f"{report['title']}; FD ratio on {report['n']} samples ({report['judge']}), as evaluate --quality-only")
    rows = [row for row in report["rows"] if row["points"]]
    marks = max((len(row["points"]) for row in rows), default=0)
    header = f"{'recipe':22s}{'seed':>5}" + "".join(
        f"{rows[0]['points'][i]['cpu_minutes'] if rows and i < len(rows[0]['points']) else 0:>7.1f}m"
        for i in range(marks)
    )
    print(header + f"{'gap (pts)':>11}  {'of':24s}{'steps':>7}")
    baseline = {row["seed"]: row["points"][-1]["fd_ratio"] for row in rows if row["recipe"] == "defaults"}
    for row in sorted(rows, key=lambda r: r["points"][-1]["fd_ratio"]):
        last = row["points"][-1]
        cells = "".join(f"{p['fd_ratio']:>8.2f}" for p in row["points"])
        cells += " " * 8 * (marks - len(row["points"]))
        versus = baseline.get(row["seed"])
        ratio = f"  {versus / last['fd_ratio']:.2f}x defaults" if versus and last["fd_ratio"] else ""
        print(f"{row['recipe']:22s}{row['seed']:>5}{cells}{last['largest_gap']:>11.1f}  {last['gap_of']:24s}"
              f"{last['step']:>7}{ratio}")  # fmt: skip
    for row in report["rows"]:
        if row["error"]:
            print(f"{row['recipe']} (seed {row['seed']}) failed: {row['error'][-200:]}")
    for key in ("png", "grids"):
        if report.get(key):
            print(f"{key}: {report[key]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--minutes", type=float, default=5.0, help="CPU minutes per run (default %(default)s)")
    parser.add_argument("--every", type=float, default=1.0, help="CPU minutes between scored copies")
    parser.add_argument("--recipes", default=DEFAULT_RECIPES, help=f"comma-separated, of: {', '.join(RECIPES)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per recipe and seed")
    parser.add_argument("--dataset", default="toonfaces", choices=("toonfaces", "digits"))
    parser.add_argument("--image-size", type=int, default=32, choices=(32, 64))
    parser.add_argument("--num-images", type=int, default=30000, help="toonfaces to render (as train's)")
    parser.add_argument("--steps", type=int, default=2000, help="each run's length, as the form sets it")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default %(default)s)")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (default %(default)s)")
    parser.add_argument("--n", type=int, default=2000, help="samples per Fréchet distance, as evaluate's --n")
    parser.add_argument("--json", default=None, help="write the report here")
    parser.add_argument(
        "--workdir",
        default=None,
        help="keep the runs here (default: a temporary folder); a run already finished there is reused, so an "
        "interrupted comparison goes on where it stopped",
    )
    parser.add_argument("--png", default=None, help="write the curves here")
    parser.add_argument("--grids", default=None, help="write sample grids of --grid-recipes here")
    parser.add_argument("--grid-recipes", default="defaults,noise", help="recipes whose grids --grids shows")
    args = parser.parse_args(argv)
    if args.child:
        run_child(json.loads(args.child))
        return 0
    if args.minutes <= 0 or args.every <= 0 or args.every > args.minutes or args.n < 32 or args.parallel < 1:
        parser.error("--minutes and --every must be positive with --every <= --minutes; --n >= 32; --parallel >= 1")
    report = run(args)
    print()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
