"""The ``--threads`` option shared by ``ganlib train``, ``ganlib evaluate`` and ``python -m ganlib.classifier``."""

from __future__ import annotations

import argparse

MAX_THREADS = 256


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch (default: torch's choice). Use 1 when other busy processes share "
        "the cores: oversubscribed OpenMP threads slow training several times over",
    )


def apply_threads_option(args) -> None:
    """Set torch's thread count from --threads, refusing nonsense with a clear message."""
    if args.threads is None:
        return
    if not 1 <= args.threads <= MAX_THREADS:
        raise ValueError(f"--threads must be from 1 to {MAX_THREADS}")
    import torch

    torch.set_num_threads(args.threads)
