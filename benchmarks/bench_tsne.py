"""The latent map's t-SNE, side by side: scikit-learn's Barnes-Hut (what ganlib.projection uses) against openTSNE
(FFT-accelerated interpolation) and UMAP, on the same points, in one run on the machine at hand; with --map, what the
Latent map page's Compute costs on a warm server instead.

    python -m benchmarks.bench_tsne [--points 2000] [--iterations 500] [--json tsne.json]
    python -m benchmarks.bench_tsne --map [--points 2000] [--json map.json]

The points are the dashboard's default map input: toonfaces64's discriminator features of seeds 0..points-1,
standardised and reduced to PCA-50 as ganlib.projection does, initialised from the same PCA plane. Each method runs
on one thread (the dashboard's setting; OpenMP held to one too). For each: seconds (import and first call apart
for UMAP, which compiles with numba on first use), and how well the map keeps neighbours: trustworthiness (scikit-
learn, 10 neighbours; 1.0 is perfect) and the share of each point's 10 nearest neighbours in the features that are
also its 10 nearest on the map. openTSNE and UMAP are optional: a method whose package is missing gets a row
saying so.

--map goes through dashboard.services, in this process, as the server does: first what a warm server has computed
while idle (the arrivals of dashboard/arrivals.py, then its LATER steps), then the page's Compute of a t-SNE of
``points`` points with the form's defaults, the same with another perplexity (what the warm-up cannot guess), and
one of the next ``points`` seeds, which nothing has computed (the cost without any cache).
Each row splits the seconds into images + features and t-SNE (wall clock, and this process's CPU time, which
depends less on what else runs here) against the 5 s target, with the map's trustworthiness. Not part of the test
suite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .bench_speed import cpu_flags
from .common import ROOT

NEIGHBOURS = 10


def map_input(points: int) -> np.ndarray:
    from ganlib import projection
    from ganlib.explorer import Explorer

    model = Explorer.from_checkpoint(ROOT / "checkpoints" / "toonfaces64.safetensors")
    features = projection.map_points(model, range(points), "discriminator").features
    return projection.reduce(projection._check_features(features), seed=0)


def neighbour_overlap(high: np.ndarray, low: np.ndarray, k: int = NEIGHBOURS) -> float:
    from sklearn.neighbors import NearestNeighbors

    def neighbours(x):
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]

    a, b = neighbours(high), neighbours(low)
    return float(np.mean([len(set(row_a) & set(row_b)) / k for row_a, row_b in zip(a, b)]))


def sklearn_tsne(summary, iterations, perplexity):
    from ganlib import projection

    return projection._tsne(summary, 0, perplexity, iterations)


def sklearn_at(angle: float):
    """scikit-learn's t-SNE as the map runs it, at another Barnes-Hut angle."""

    def run(summary, iterations, perplexity):
        from unittest import mock

        from ganlib import projection

        with mock.patch.object(projection, "TSNE_ANGLE", angle):
            return projection._tsne(summary, 0, perplexity, iterations)

    return run


def opentsne(summary, iterations, perplexity):
    from openTSNE import TSNE

    init = summary[:, :2] / np.std(summary[:, 0]) * 1e-4  # the same PCA start, scaled as scikit-learn scales it
    return np.asarray(
        TSNE(perplexity=perplexity, n_iter=iterations, n_jobs=1, random_state=0, initialization=init).fit(summary)
    )


def umap(summary, iterations, perplexity):
    import umap as umap_module

    return umap_module.UMAP(n_neighbors=int(perplexity), random_state=0, n_jobs=1).fit_transform(summary)


METHODS = {
    "scikit-learn t-SNE (now)": (None, sklearn_tsne),
    "scikit-learn, angle 0.8": (None, sklearn_at(0.8)),
    "scikit-learn, angle 0.5": (None, sklearn_at(0.5)),  # its default
    "openTSNE": ("openTSNE", opentsne),
    "UMAP": ("umap", umap),
}


def measure(points: int, iterations: int, perplexity: int, log=print) -> dict:
    from sklearn.manifold import trustworthiness

    summary = map_input(points)
    rows = {}
    for name, (package, run) in METHODS.items():
        row: dict = {}
        if package is not None:
            started = time.perf_counter()
            try:
                importlib.import_module(package)
            except ImportError:
                rows[name] = {"missing": f"pip install {package}"}
                log(f"{name}: not installed")
                continue
            row["import_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        coordinates = run(summary, iterations, perplexity)
        row["first_call_seconds"] = round(time.perf_counter() - started, 2)
        started, cpu = time.perf_counter(), time.process_time()
        run(summary, iterations, perplexity)
        row["second_call_seconds"] = round(time.perf_counter() - started, 2)
        row["second_call_cpu_seconds"] = round(time.process_time() - cpu, 2)  # depends less on the machine's load
        row["trustworthiness"] = round(float(trustworthiness(summary, coordinates, n_neighbors=NEIGHBOURS)), 4)
        row["neighbours_kept"] = round(neighbour_overlap(summary, coordinates), 4)
        rows[name] = row
        log(f"{name}: {row}")
    return {
        "points": points,
        "iterations": iterations,
        "perplexity": perplexity,
        "cpu_flags": cpu_flags(),
        "load_average": os.getloadavg(),
        "methods": rows,
    }


MAP_TARGET = 5.0  # seconds from Compute to the t-SNE map, on a warm server


def warm_map(points: int, log=print) -> dict:
    """What Compute costs for a t-SNE of ``points`` points on a warm server (see the module's docstring)."""
    import streamlit as st
    from sklearn.manifold import trustworthiness

    from dashboard import arrivals, services, state
    from ganlib import projection

    os.environ.setdefault("GANLIB_CACHE", str(Path(tempfile.mkdtemp(prefix="bench-tsne-"))))
    st.cache_data.clear()
    path = services.list_checkpoints()[0].id
    default = {key: value.default for key, value in state.URL_STATE.items()}
    space = "discriminator" if "discriminator" in services.map_spaces(path) else "generator"
    warming = (*arrivals.ARRIVALS, *getattr(arrivals, "LATER", ()))
    started, cpu = time.perf_counter(), time.process_time()
    for step in warming:
        step(path)
    warm_up = {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}
    log(f"warm-up ({len(warming)} steps): {warm_up}")
    rows = {}
    computes = (
        ("form's defaults", default["map_first"], default["perplexity"]),
        ("perplexity 40", default["map_first"], 40),  # the same seeds: their images and features are reused
        (f"seeds {points}-{2 * points - 1}", points, default["perplexity"]),  # nothing cached: the cold cost
    )
    for name, first, perplexity in computes:
        marks = []  # (wall, cpu) when t-SNE starts: the page hears "t-SNE of ..." once the features exist

        def heard(fraction, message, marks=marks):
            if message.startswith("t-SNE"):
                marks.append((time.perf_counter(), time.process_time()))

        started, cpu = time.perf_counter(), time.process_time()
        latent = services.latent_map(
            path, first, points, space, "tsne", perplexity, default["map_iterations"], default["map_seed"],
            progress=heard,
        )  # fmt: skip
        ended, cpu_ended = time.perf_counter(), time.process_time()
        tsne_at, tsne_cpu_at = marks[0] if marks else (ended, cpu_ended)
        # trustworthiness in the space t-SNE saw, the PCA-50 summary of the features (services._map_points: cached)
        summary = projection.reduce(services._map_points(path, first, points, space).features)
        rows[name] = {
            "images_and_features_seconds": round(tsne_at - started, 2),
            "tsne_seconds": round(ended - tsne_at, 2),
            "total_seconds": round(ended - started, 2),
            "images_and_features_cpu_seconds": round(tsne_cpu_at - cpu, 2),
            "tsne_cpu_seconds": round(cpu_ended - tsne_cpu_at, 2),
            "trustworthiness": round(float(trustworthiness(summary, latent.coordinates, n_neighbors=NEIGHBOURS)), 4),
        }
        log(f"{name}: {rows[name]}")
    return {
        "points": points,
        "checkpoint": path,
        "space": space,
        "iterations": default["map_iterations"],
        "warm_up": {key: round(value, 2) for key, value in warm_up.items()},
        "cpu_flags": cpu_flags(),
        "load_average": os.getloadavg(),
        "target_seconds": MAP_TARGET,
        "computes": rows,
    }


def print_warm_map(report: dict) -> None:
    print(f"cpu flags: {' '.join(report['cpu_flags'])}; load {report['load_average']}")
    print(
        f"Latent map, t-SNE of {report['points']:,} points ({report['space']} features, {report['iterations']} "
        f"iterations) on a warm server: its warm-up took {report['warm_up']['seconds']:.1f} s "
        f"({report['warm_up']['cpu_seconds']:.1f} s CPU)"
    )
    print(
        f"{'Compute with':18s} {'images+features':>16s} {'t-SNE':>13s} {'total':>7s} {'target':>7s} {'ratio':>6s} {'trust':>6s}"
    )
    for name, row in report["computes"].items():
        print(
            f"{name:20s} {row['images_and_features_seconds']:6.2f}s ({row['images_and_features_cpu_seconds']:5.2f} cpu)"
            f" {row['tsne_seconds']:5.2f}s ({row['tsne_cpu_seconds']:5.2f} cpu) {row['total_seconds']:6.2f}s"
            f" {report['target_seconds']:6.1f}s {report['target_seconds'] / max(row['total_seconds'], 1e-3):6.2f}"
            f" {row['trustworthiness']:6.3f}"
        )
    print("ratio = target / total: >= 1 meets the target")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tsne", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--perplexity", type=int, default=30)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--map", action="store_true", help="time the Latent map page's Compute on a warm server")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # before the libraries start their pools: the dashboard's one thread
    if args.map:
        report = warm_map(args.points, log=lambda line: print(line, file=sys.stderr))
        print_warm_map(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return 0
    report = measure(args.points, args.iterations, args.perplexity, log=lambda line: print(line, file=sys.stderr))
    print(f"cpu flags: {' '.join(report['cpu_flags'])}; load {report['load_average']}")
    print(f"{args.points} points, {args.iterations} iterations, perplexity {args.perplexity}, one thread")
    print(
        f"{'method':28s} {'import':>7s} {'1st call':>9s} {'2nd call':>9s} {'2nd cpu':>8s} {'trust':>6s} {'kNN kept':>8s}"
    )
    for name, row in report["methods"].items():
        if "missing" in row:
            print(f"{name:28s} not installed ({row['missing']})")
            continue
        imported = f"{row['import_seconds']:6.2f}s" if "import_seconds" in row else f"{'-':>7s}"
        print(
            f"{name:28s} {imported} {row['first_call_seconds']:8.2f}s {row['second_call_seconds']:8.2f}s "
            f"{row['second_call_cpu_seconds']:7.2f}s {row['trustworthiness']:6.3f} {row['neighbours_kept']:8.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
