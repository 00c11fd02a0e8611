"""The checkpoints an app offers, each named by an id, and the uploads folder with its quota.

A shared link names a checkpoint by id (``bundled/toonfaces64``, ``run/faces32``, ``upload/3f9a0c1b2d``), never by
path: an id is looked up in the listing, so an unknown id gets the same answer whatever exists on disk, and no
path a stranger types is ever opened. Uploads live in a folder of their own that nothing else reads, are
validated before they are kept, and are capped in count and total size (the oldest are evicted first).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import CheckpointError
from .encoder import SUFFIX as ENCODER_SUFFIX
from .run_directory import GENERATOR_FILE

SUFFIX = ".safetensors"
INCOMING = ".incoming"  # uploads being checked; never listed, and cleared of leftovers on every upload
MAX_UPLOAD_BYTES = 64 << 20  # a 128-px DCGAN in fp32 with its discriminator is about 60 MB
MAX_UPLOADS = 20
MAX_UPLOAD_TOTAL_BYTES = 512 << 20
STALE_INCOMING_SECONDS = 3600


@dataclass(frozen=True)
class Entry:
    id: str  # what URLs and session state hold
    label: str  # what the picker shows
    path: Path
    kind: str  # bundled | run | upload


class Catalog:
    def __init__(self, checkpoints_dir, runs_dir, uploads_dir, preferred: tuple[str, ...] = ()):
        self.checkpoints_dir, self.runs_dir, self.uploads_dir = Path(checkpoints_dir), Path(runs_dir), Path(uploads_dir)
        self.preferred = preferred  # bundled file names listed first, in this order

    def entries(self, ordered: bool = True) -> list[Entry]:
        """Bundled files first (preferred ones at the top), then runs and uploads, newest first. ``ordered=False``
        skips the sorting (and the runs' and uploads' stat calls) where only membership matters, as in ``find``,
        which every page calls on every rerun."""

        def rank(path: Path):
            return (self.preferred.index(path.name) if path.name in self.preferred else len(self.preferred), path.name)

        def newest_first(paths: list[Path]) -> list[Path]:
            return sorted(paths, key=_modified, reverse=True) if ordered else paths

        models = [path for path in self.checkpoints_dir.glob(f"*{SUFFIX}") if not path.name.endswith(ENCODER_SUFFIX)]
        bundled = sorted(_files(models), key=rank)  # encoders sit beside their checkpoints, and are not models
        runs = newest_first(_files(self.runs_dir.glob(f"*/{GENERATOR_FILE}")))
        uploads = newest_first(_files(self.uploads_dir.glob(f"*{SUFFIX}")))
        return (
            [Entry(f"bundled/{p.stem}", f"bundled: {p.stem}", p, "bundled") for p in bundled]
            + [Entry(f"run/{p.parent.name}", f"run: {p.parent.name}", p, "run") for p in runs]
            + [
                Entry(f"upload/{p.name.split('-', 1)[0]}", f"upload: {p.name.split('-', 1)[-1]}", p, "upload")
                for p in uploads
            ]
        )

    def find(self, entry_id: str) -> Entry | None:
        """The entry with this id, or None; ids are compared with the listing, never turned into paths."""
        return next((entry for entry in self.entries(ordered=False) if entry.id == entry_id), None)

    def entry_for_path(self, path) -> Entry | None:
        target = Path(path).resolve()
        return next((entry for entry in self.entries(ordered=False) if entry.path.resolve() == target), None)

    def add_upload(self, name: str, data: bytes, validate: Callable[[Path], object]) -> Entry:
        """Check and keep an uploaded checkpoint; raise CheckpointError (and keep nothing) if it is not usable.
        ``validate(path)`` loads the file as the app will, raising CheckpointError for a bad one."""
        if not name.lower().endswith(SUFFIX):
            raise CheckpointError(name, f"only {SUFFIX} files can be opened (other formats can run code when loaded)")
        if len(data) > MAX_UPLOAD_BYTES:
            raise CheckpointError(
                name, f"file is {len(data) / 2**20:.0f} MB; the upload limit is {MAX_UPLOAD_BYTES >> 20} MB"
            )
        digest = hashlib.sha256(data).hexdigest()[:10]
        safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)[-80:]
        target = self.uploads_dir / f"{digest}-{safe_name}"
        incoming = self.uploads_dir / INCOMING
        temporary = incoming / f"{digest}-{os.getpid()}-{time.monotonic_ns()}{SUFFIX}"
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            _clear_stale(incoming)
            try:
                temporary.write_bytes(data)
                try:
                    validate(temporary)
                except CheckpointError as error:
                    raise CheckpointError(name, error.problem) from None
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as error:  # a full disk, a read-only uploads folder: one line, and nothing half-kept
            raise CheckpointError(name, f"could not be kept on this server ({error.strerror or error})") from None
        self._enforce_quota(keep=target)
        return Entry(f"upload/{digest}", f"upload: {safe_name}", target, "upload")

    def _enforce_quota(self, keep: Path) -> None:
        """Evict the oldest uploads beyond the quota. Another session may evict (or add) at the same moment, and the
        file kept is already in place: a file that vanished counts as gone, and a failed removal is left for the
        next upload."""
        uploads = sorted(_files(self.uploads_dir.glob(f"*{SUFFIX}")), key=_modified)  # oldest first
        sizes = {path: _size(path) for path in uploads}
        count, total = len(uploads), sum(sizes.values())
        for path in uploads:
            if count <= MAX_UPLOADS and total <= MAX_UPLOAD_TOTAL_BYTES:
                break
            if path != keep:
                count, total = count - 1, total - sizes[path]
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)


def _files(paths) -> list[Path]:
    """Plain files only: a symbolic link planted in a listed folder is not offered."""
    return [path for path in paths if path.is_file() and not path.is_symlink()]


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _clear_stale(incoming: Path) -> None:
    """Leftovers of an upload whose server was killed mid-check."""
    for path in incoming.iterdir():
        try:
            if time.time() - path.stat().st_mtime > STALE_INCOMING_SECONDS:
                path.unlink()
        except OSError:
            continue
