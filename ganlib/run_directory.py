"""The layout of a run directory, shared by the Trainer that writes it and the followers that read it
(ganlib.runs, the dashboard). Torch-free, so a follower imports it cheaply.

JSON files are written atomically (temp file, then rename), so a reader never sees half a file. The temp name
carries the writer's pid because two processes write status.json: the trainer, and ganlib.runs when it marks a
killed run as stopped.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
STATS_FILE = "stats.jsonl"
SAMPLES_DIR = "samples"
KEPT_CHECKPOINTS_DIR = "checkpoints"  # step_NNNNNN.safetensors, with --keep-checkpoints
GENERATOR_FILE = "generator.safetensors"
STATE_FILE = "state/training_state.safetensors"


def write_json(path: Path, value: dict) -> None:
    path = Path(path)
    temporary = path.with_name(f"{path.name}.tmp{os.getpid()}")
    temporary.write_text(json.dumps(value, indent=2))
    os.replace(temporary, path)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when the file is missing or not a JSON object."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
