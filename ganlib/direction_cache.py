"""Classifier labels, attribute directions and measured edits, computed once per checkpoint and kept on disk.

Finding "the sunglasses direction" means generating and classifying 2,000 faces (about 5 s on one CPU thread here),
and measuring an edit generates and classifies a few hundred more; a dashboard restart used to pay all of it again.
This cache keeps those results in a folder named by the content of the checkpoint and of the classifier that judged
it (sha256), so a rewritten file (a training run's next checkpoint, a retrained classifier) never meets another
file's results::

    <root>/<key>/labels-<first>-<count>.safetensors   p(class) of seeds first..first+count-1, a tensor per attribute
    <root>/<key>/direction-<digest>.safetensors        the unit vector; its class distance and key in the metadata
    <root>/<key>/measure-<digest>.json                 measure_edit's or a component step's figures, and their key
    <root>/<key>/components-<digest>.safetensors       ganlib.components.top_components: vectors and weights

A checkpoint without a classifier gets a folder keyed by the checkpoint alone: components need no labels.

``<root>`` is ``$GANLIB_CACHE/directions``, else ``~/.cache/ganlib/directions`` (the rendered data sets live beside
it). A checkpoint's folder may ship a read-only layer, ``<its folder>/first-start/<key>/`` (SHIPPED), read where the
user's folder has no file: the bundled checkpoints ship the dashboard's first-start results there (``make
bundled-cache``), so that the first start ever computes none of them. A retrained checkpoint has another key, so a
stale shipped folder is simply never read. Cache files, shipped or not, are untrusted input: safetensors and JSON
only, read only below a size bound, and checked against what was asked (format, key, names, shapes, dtypes, value
ranges); a file that fails any check is ignored, and the result is computed again and written over it (in the
user's folder). Nothing is unpickled. Writes are atomic (a temporary file, then a rename), and a folder that cannot
be written only costs the recomputation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import struct
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from .components import METHODS, Component
from .directions import Direction

FORMAT = "ganlib-direction-cache"
VERSION = 1  # part of every key: a new layout or meaning starts a fresh folder instead of misreading old files
# part of every direction's key: a direction stored while its class distance (the unit of strength) or its exemplars
# meant something else is not read back with the present meaning; labels and components keep their files
DIRECTION_MEANING = 2
MAX_TENSOR_FILE_BYTES = 16 << 20  # 200,000 seeds of labels; a larger file is not ours
MAX_JSON_FILE_BYTES = 256 << 10
MAX_HEADER_BYTES = 64 << 10
MAX_FILES_PER_CHECKPOINT = 1000  # oldest files go first beyond this (exemplar searches can label many seed blocks)
MAX_CHECKPOINTS = 50  # folders; a training run writes a new generator every few minutes
MAX_JSON_DEPTH = 4
SHIPPED = "first-start"  # beside a checkpoint: its shipped results (a name Python cannot import: a data folder)


def cache_root() -> Path:
    return Path(os.environ.get("GANLIB_CACHE") or Path.home() / ".cache" / "ganlib") / "directions"


def content_key(*paths) -> str:
    """sha256 of the files' bytes (checkpoint, then classifier): 10 ms for the bundled 64-px checkpoint here."""
    digest = hashlib.sha256(f"{FORMAT} {VERSION}".encode())
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _read_bounded(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it is missing, not a regular file, or larger than ``limit``."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # no links, pipes or devices: a pipe would block the read
            return None
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode) or status.st_size > limit:
                return None
            data = handle.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def _safetensors_metadata(data: bytes) -> dict | None:
    """The ``__metadata__`` of a safetensors file, parsed from its length-prefixed JSON header (bounded)."""
    if len(data) < 8:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(MAX_HEADER_BYTES, len(data) - 8):
        return None
    try:
        header = json.loads(data[8 : 8 + length])
    except ValueError:
        return None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else None


def _plain_json(value, depth: int = 0) -> bool:
    """Numbers, strings, booleans, None, and lists or str-keyed dicts of them, at most MAX_JSON_DEPTH deep."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if depth >= MAX_JSON_DEPTH:
        return False
    if isinstance(value, list):
        return all(_plain_json(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v, depth + 1) for k, v in value.items())
    return False


class DirectionCache:
    """One checkpoint's folder of cached results (see the module doc). Every read returns None when the file is
    missing or fails a check; every write is best-effort."""

    def __init__(self, folder: Path, key: str, shipped: Path | None = None):
        self.folder = Path(folder)
        self.key = key
        self.shipped = Path(shipped) if shipped is not None else None  # read only, after self.folder

    @classmethod
    def for_files(
        cls, checkpoint, classifier=None, root: Path | None = None, shipped_root: Path | None = None
    ) -> DirectionCache:
        """The folder for these files under ``root`` (cache_root()), over ``shipped_root``'s (default: SHIPPED
        beside the checkpoint)."""
        key = content_key(checkpoint, *([classifier] if classifier is not None else []))
        shipped = Path(shipped_root) if shipped_root is not None else Path(checkpoint).parent / SHIPPED
        return cls((root or cache_root()) / key, key, shipped / key)

    # ------------------------------------------------------------------ labels
    def _labels_path(self, first: int, count: int) -> Path:
        return self.folder / f"labels-{first}-{count}.safetensors"

    def labels(self, first: int, count: int, attributes: dict[str, list[str]]) -> dict[str, np.ndarray] | None:
        """{attribute: float32 [count, classes]} probabilities of seeds first..first+count-1, or None."""
        data = self._read(self._labels_path(first, count).name, MAX_TENSOR_FILE_BYTES)
        if data is None or not self._metadata_matches(data, {"kind": "labels", "first": first, "count": count}):
            return None
        try:
            tensors = load_tensors(data)
        except Exception:  # safetensors raises its own error types for a malformed file
            return None
        if set(tensors) != set(attributes):
            return None
        for name, classes in attributes.items():
            values = tensors[name]
            if values.dtype != np.float32 or values.shape != (count, len(classes)):
                return None
            if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
                return None
        return tensors

    def store_labels(self, first: int, count: int, probabilities: dict[str, np.ndarray]) -> None:
        tensors = {name: np.ascontiguousarray(values, dtype=np.float32) for name, values in probabilities.items()}
        self._write(self._labels_path(first, count), save_tensors(tensors, metadata=self._metadata(
            {"kind": "labels", "first": first, "count": count})))  # fmt: skip

    # ------------------------------------------------------------------ directions
    def direction(self, key: dict, latent_dim: int) -> Direction | None:
        """The Direction stored under ``key`` (attribute, method, conditional, n, seed), or None."""
        key = {"kind": "direction", "meaning": DIRECTION_MEANING, **key}
        data = self._read(f"direction-{_digest(key)}.safetensors", MAX_TENSOR_FILE_BYTES)
        metadata = _safetensors_metadata(data) if data is not None else None
        if metadata is None or not self._metadata_matches(data, key):
            return None
        try:
            vector = load_tensors(data).get("vector")
            distance, n = float(metadata["class_distance"]), int(metadata["fitted"])
        except Exception:
            return None
        if vector is None or vector.dtype != np.float32 or vector.shape != (latent_dim,):
            return None
        if not np.isfinite(vector).all() or abs(float(np.linalg.norm(vector)) - 1) > 1e-3:
            return None
        if not math.isfinite(distance) or n < 1:
            return None
        return Direction(key["attribute"], key["method"], vector, distance, n)

    def store_direction(self, key: dict, direction: Direction) -> None:
        key = {"kind": "direction", "meaning": DIRECTION_MEANING, **key}
        metadata = self._metadata(key)
        metadata.update(class_distance=repr(float(direction.class_distance)), fitted=str(int(direction.n)))
        data = save_tensors({"vector": np.ascontiguousarray(direction.vector, dtype=np.float32)}, metadata=metadata)
        self._write(self.folder / f"direction-{_digest(key)}.safetensors", data)

    # ------------------------------------------------------------------ components (SeFa, GANSpace)
    def components(self, key: dict, latent_dim: int) -> list[Component] | None:
        """The components stored under ``key`` (k, samples, seed), or None."""
        key = {"kind": "components", **key}
        data = self._read(f"components-{_digest(key)}.safetensors", MAX_TENSOR_FILE_BYTES)
        if data is None or not self._metadata_matches(data, key):
            return None
        try:
            tensors = load_tensors(data)
        except Exception:  # safetensors raises its own error types for a malformed file
            return None
        if set(tensors) != {f"{method}{part}" for method in METHODS for part in ("", "_weights")}:
            return None
        found = []
        for method in METHODS:
            vectors, weights = tensors[method], tensors[f"{method}_weights"]
            if vectors.dtype != np.float32 or vectors.shape != (min(key["k"], latent_dim), latent_dim):
                return None
            if weights.dtype != np.float64 or weights.shape != (len(vectors),) or not np.isfinite(weights).all():
                return None
            if not np.isfinite(vectors).all() or np.abs(np.linalg.norm(vectors, axis=1) - 1).max(initial=0) > 1e-3:
                return None
            found += [Component(method, i, vectors[i], float(weights[i])) for i in range(len(vectors))]
        return found

    def store_components(self, key: dict, components: list[Component]) -> None:
        key = {"kind": "components", **key}
        tensors = {}
        for method in METHODS:
            mine = [component for component in components if component.method == method]
            tensors[method] = np.ascontiguousarray([c.vector for c in mine], dtype=np.float32)
            tensors[f"{method}_weights"] = np.asarray([c.weight for c in mine], dtype=np.float64)
        data = save_tensors(tensors, metadata=self._metadata(key))
        self._write(self.folder / f"components-{_digest(key)}.safetensors", data)

    # ------------------------------------------------------------------ measured edits
    def measurement(self, key: dict) -> dict | None:
        """The figures stored under ``key`` (a measure_edit's direction, strength, n, seed, sides), or None."""
        key = {"kind": "measurement", **key}
        data = self._read(f"measure-{_digest(key)}.json", MAX_JSON_FILE_BYTES)
        if data is None:
            return None
        try:
            record = json.loads(data)
        except ValueError:  # also UnicodeDecodeError
            return None
        if not isinstance(record, dict) or not _plain_json(record):
            return None
        if record.get("format") != FORMAT or record.get("version") != VERSION or record.get("key") != key:
            return None
        figures = record.get("figures")
        return figures if isinstance(figures, dict) else None

    def store_measurement(self, key: dict, figures: dict) -> None:
        key = {"kind": "measurement", **key}
        record = {"format": FORMAT, "version": VERSION, "checkpoint": self.key, "key": key, "figures": figures}
        self._write(self.folder / f"measure-{_digest(key)}.json", json.dumps(record, allow_nan=True).encode())

    # ------------------------------------------------------------------ files
    def _read(self, name: str, limit: int) -> bytes | None:
        """File ``name`` of the user's folder, else of the shipped one; both are checked alike by the caller."""
        data = _read_bounded(self.folder / name, limit)
        if data is None and self.shipped is not None:
            data = _read_bounded(self.shipped / name, limit)
        return data

    def _metadata(self, key: dict) -> dict[str, str]:
        return {
            "format": FORMAT,
            "version": str(VERSION),
            "checkpoint": self.key,
            "key": json.dumps(key, sort_keys=True),
        }

    def _metadata_matches(self, data: bytes, key: dict) -> bool:
        metadata = _safetensors_metadata(data)
        return (
            metadata is not None
            and metadata.get("format") == FORMAT
            and metadata.get("version") == str(VERSION)
            and metadata.get("checkpoint") == self.key
            and metadata.get("key") == json.dumps(key, sort_keys=True)
        )

    def _write(self, path: Path, data: bytes) -> None:
        temporary = None
        try:
            fresh = not self.folder.is_dir()
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
            temporary = None
            _evict(self.folder, MAX_FILES_PER_CHECKPOINT, keep=path, ours=_is_cache_file)
            if fresh:
                _evict(self.folder.parent, MAX_CHECKPOINTS, keep=self.folder, ours=_is_checkpoint_folder)
        except OSError:
            pass  # a read-only or full disk: the result is simply computed again next time
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def _evict(folder: Path, limit: int, keep: Path, ours) -> None:
    """Remove the oldest of ``folder``'s entries that ``ours(name)`` recognises, beyond ``limit`` (never ``keep``)."""
    entries = [entry for entry in os.scandir(folder) if ours(entry.name) and entry.path != str(keep)]
    if len(entries) < limit:
        return
    entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime)
    for entry in entries[: len(entries) - limit + 1]:
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                for child in os.scandir(entry.path):
                    if _is_cache_file(child.name):
                        os.unlink(child.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)


def _is_cache_file(name: str) -> bool:
    return name.startswith(("labels-", "direction-", "components-", "measure-", ".tmp-"))


def _is_checkpoint_folder(name: str) -> bool:
    return len(name) == 64 and all(character in "0123456789abcdef" for character in name)
