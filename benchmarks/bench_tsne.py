"""The latent map's t-SNE, side by side: scikit-learn's Barnes-Hut (what ganlib.projection uses) against openTSNE
(FFT-accelerated interpolation) and UMAP, on the same points, in one run on the machine at hand.

    python -m benchmarks.bench_tsne [--points 2000] [--iterations 500] [--json tsne.json]

The points are the dashboard's default map input: toonfaces64's discriminator features of seeds 0..points-1,
standardised and reduced to PCA-50 as ganlib.projection does, initialised from the same PCA plane. Each method runs
on one thread (the dashboard's setting; OpenMP held to one too). For each: seconds (import and first call apart
for UMAP, which compiles with numba on first use), and how well the map keeps neighbours: trustworthiness (scikit-
learn, 10 neighbours; 1.0 is perfect) and the share of each point's 10 nearest neighbours in the features that are
also its 10 nearest on the map. openTSNE and UMAP are optional: a method whose package is missing gets a row
saying so. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
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


def opentsne(summary, iterations, perplexity):
    from openTSNE import TSNE

    init = summary[:, :2] / np.std(summary[:, 0]) * 1e-4  # the same PCA start, scaled as scikit-learn scales it
    return np.asarray(
        TSNE(perplexity=perplexity, n_iter=iterations, n_jobs=1, random_state=0, initialization=init).fit(summary)
    )


def umap(summary, iterations, perplexity):
    import umap as umap_module

    return umap_module.UMAP(n_neighbors=int(perplexity), random_state=0, n_jobs=1).fit_transform(summary)


METHODS = {"scikit-learn t-SNE (now)": (None, sklearn_tsne), "openTSNE": ("openTSNE", opentsne), "UMAP": ("umap", umap)}


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
        started = time.perf_counter()
        run(summary, iterations, perplexity)
        row["second_call_seconds"] = round(time.perf_counter() - started, 2)
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tsne", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--perplexity", type=int, default=30)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # before the libraries start their pools: the dashboard's one thread
    report = measure(args.points, args.iterations, args.perplexity, log=lambda line: print(line, file=sys.stderr))
    print(f"cpu flags: {' '.join(report['cpu_flags'])}; load {report['load_average']}")
    print(f"{args.points} points, {args.iterations} iterations, perplexity {args.perplexity}, one thread")
    print(f"{'method':28s} {'import':>7s} {'1st call':>9s} {'2nd call':>9s} {'trust':>6s} {'kNN kept':>8s}")
    for name, row in report["methods"].items():
        if "missing" in row:
            print(f"{name:28s} not installed ({row['missing']})")
            continue
        imported = f"{row['import_seconds']:6.2f}s" if "import_seconds" in row else f"{'-':>7s}"
        print(
            f"{name:28s} {imported} {row['first_call_seconds']:8.2f}s {row['second_call_seconds']:8.2f}s "
            f"{row['trustworthiness']:6.3f} {row['neighbours_kept']:8.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
