"""The layout of a run directory, shared by the Trainer that writes it and the followers that read it
(ganlib.runs, the dashboard). Torch-free, so a follower imports it cheaply.

Every file a reader may open is written atomically: to ``<name>.tmp<pid>`` beside it, flushed to disk, then
renamed over the old one, so a reader (or a crash) never sees half a file. The temp name carries the writer's pid
because two processes write status.json: the trainer, and ganlib.runs when it marks a killed run as stopped. A
writer killed before its rename leaves its temp file behind; ``remove_orphans`` clears those when a run starts.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
STATS_FILE = "stats.jsonl"
SAMPLES_DIR = "samples"
KEPT_CHECKPOINTS_DIR = "checkpoints"  # step_NNNNNN.safetensors, with --keep-checkpoints
GENERATOR_FILE = "generator.safetensors"
STATE_FILE = "state/training_state.safetensors"
ORPHAN_FOLDERS = (".", "state", KEPT_CHECKPOINTS_DIR)  # where atomic writes put their temp files
TEMPORARY_NAME = re.compile(r".+\.tmp(\d+)")  # <name>.tmp<pid>, as temporary_path makes them


def temporary_path(path: Path) -> Path:
    """Where to write ``path``'s new content before ``commit`` renames it into place."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp{os.getpid()}")


def commit(temporary: Path, path: Path) -> None:
    """Rename a fully written temp file over ``path``. The data is fsynced before the rename and the folder after
    it: without the first, a power cut after the rename can leave an empty file where a good one was (the rename
    reaches the disk before the data); without the second, the rename itself can be lost."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(Path(path).parent)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its renames are durable without this
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the file's own fsync is still done
    finally:
        os.close(descriptor)


def write_json(path: Path, value: dict) -> None:
    path = Path(path)
    temporary = temporary_path(path)
    try:
        temporary.write_text(json.dumps(value, indent=2))
        commit(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # left only by a failed write (a full disk); gone after a commit


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when the file is missing or not a JSON object."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def remove_orphans(run_dir: Path) -> list[Path]:
    """Delete temp files (``<name>.tmp<pid>``) that writers killed mid-write left in the run directory, state/ and
    checkpoints/; return them. Their rename never happened, so nothing refers to them. A temp file whose pid is a
    live process other than this one may be a write in progress (ganlib.runs marking status.json) and is kept."""
    removed = []
    for folder in ORPHAN_FOLDERS:
        try:
            entries = list(os.scandir(Path(run_dir) / folder))
        except OSError:
            continue
        for entry in entries:
            match = TEMPORARY_NAME.fullmatch(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue
            pid = int(match.group(1))
            if pid != os.getpid() and process_alive(pid):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed.append(Path(entry.path))
    return removed


def process_alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): os.kill said it exists
