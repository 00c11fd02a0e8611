"""Pictures the dashboard has drawn, kept on disk by checkpoint and view, so that a restarted server draws a
rehearsed view (the demo's before/after rows, the Samples grid) without generating it again.

One file per view: the arrays that drew it (uint8 images, and the few numbers shown beside them) as safetensors,
named by a digest of what produced them::

    <root>/<key>/<name>-<digest>.safetensors    the arrays; the format, the checkpoint key and the view in the metadata

``<key>`` is the checkpoint's content key (ganlib.direction_cache.content_key: the checkpoint and its classifier),
so a rewritten checkpoint never shows another file's pictures. ``<root>`` is ``$GANLIB_CACHE/pictures``, else
``~/.cache/ganlib/pictures``. A checkpoint may ship the demo's views beside it, in the read-only folder of its
direction cache (ganlib.direction_cache.SHIPPED), read where the user's folder has no file. The files are untrusted input: read below a size bound, and used only when the
metadata names this checkpoint and this very view and every array has the name, dtype, shape and range the caller
expects; anything else is ignored and drawn again. Writes are atomic, and the folder is kept under MAX_TOTAL_BYTES
by removing the least recently used files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from .direction_cache import _read_bounded, _safetensors_metadata

FORMAT = "ganlib-picture-cache"
VERSION = 1
MAX_FILE_BYTES = 32 << 20  # 256 images of 128 px with their numbers; a larger file is not ours
MAX_TOTAL_BYTES = 256 << 20  # the whole folder, every checkpoint together
SUFFIX = ".safetensors"


class Expected(NamedTuple):
    """What one array must be: its shape and dtype, its values within [low, high] (NaN only where ``nan``)."""

    shape: tuple[int, ...]
    dtype: type
    low: float | None = None
    high: float | None = None
    nan: bool = False


def picture_root() -> Path:
    return Path(os.environ.get("GANLIB_CACHE") or Path.home() / ".cache" / "ganlib") / "pictures"


class PictureCache:
    """One checkpoint's folder of drawn views (see the module doc). A read returns None for a missing or failing
    file; a write is best-effort."""

    def __init__(self, root: Path, key: str, shipped: Path | None = None):
        self.root = Path(root)
        self.key = key
        self.folder = self.root / key
        self.shipped = Path(shipped) if shipped is not None else None  # read only, after self.folder

    def _file(self, name: str, view: dict) -> tuple[Path, dict[str, str]] | None:
        """The file for a view and the metadata it holds; None for a view that is not plain JSON values."""
        try:
            text = json.dumps([name, view], sort_keys=True, default=_plain, allow_nan=False)
        except (TypeError, ValueError):
            return None
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        metadata = {"format": FORMAT, "version": str(VERSION), "checkpoint": self.key, "view": text}
        return self.folder / f"{name}-{digest}{SUFFIX}", metadata

    def get(self, name: str, view: dict, expected: dict[str, Expected]) -> dict[str, np.ndarray] | None:
        """The arrays kept for ``name`` drawn with ``view`` (plain JSON values), or None."""
        found = self._file(name, view)
        if found is None:
            return None
        path, metadata = found
        data = _read_bounded(path, MAX_FILE_BYTES)
        if data is None and self.shipped is not None:
            data = _read_bounded(self.shipped / path.name, MAX_FILE_BYTES)
        if data is None or _safetensors_metadata(data) != metadata:
            return None
        try:
            arrays = load_tensors(data)
        except Exception:  # safetensors raises its own error types for a malformed file
            return None
        if set(arrays) != set(expected) or not all(_is(arrays[k], want) for k, want in expected.items()):
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: the last to go
        return arrays

    def put(self, name: str, view: dict, arrays: dict[str, np.ndarray]) -> None:
        found = self._file(name, view)
        if found is None:
            return
        path, metadata = found
        data = save_tensors({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata)
        if len(data) > MAX_FILE_BYTES:
            return
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
            temporary = None
            _trim(self.root, MAX_TOTAL_BYTES)
        except OSError:
            pass  # a read-only or full disk: the view is drawn again next time
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def _plain(value):
    """numpy's numbers as Python's (a seed from an array); anything else is no part of a view."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(type(value).__name__)


def _is(array: np.ndarray, want: Expected) -> bool:
    if array.dtype != np.dtype(want.dtype) or array.shape != tuple(want.shape):
        return False
    if array.dtype.kind != "f":
        return True
    finite = array[np.isfinite(array)]
    if finite.size != array.size and not (want.nan and not np.isinf(array).any()):
        return False
    low = want.low if want.low is not None else -np.inf
    high = want.high if want.high is not None else np.inf
    return bool(((finite >= low) & (finite <= high)).all())


def _trim(root: Path, limit: int) -> None:
    """Remove the least recently used files under ``root`` until they take at most ``limit`` bytes together
    (files only ours by name; temporary files of a writer killed mid-way older than an hour go too)."""
    files = []
    for folder in os.scandir(root):
        if not folder.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(folder.path):
            with contextlib.suppress(OSError):
                status = entry.stat(follow_symlinks=False)
                if entry.name.startswith(".tmp-") and time.time() - status.st_mtime > 3600:
                    os.unlink(entry.path)
                elif entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                    files.append((status.st_mtime, status.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
