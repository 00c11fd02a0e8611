"""The dashboard's only caching layer: models are loaded once per file version (st.cache_resource), and results
are memoised by the plain values that produce them (st.cache_data; unhashable arguments are prefixed ``_``
and identified by the checkpoint key passed beside them).

Pages call these functions with seeds and parameters and get numpy arrays and numbers back; no page touches torch.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

import ganlib
from ganlib.checkpoint import CheckpointError, read_metadata
from ganlib.explorer import Explorer

ROOT = Path(__file__).resolve().parent.parent

MAX_UPLOAD_MB = 64  # a 128-px DCGAN in fp32 with its discriminator is about 60 MB; anything larger is not ours
DEFAULT_CHECKPOINT = "toonfaces64.safetensors"  # the bundled file opened first, when present


@dataclass(frozen=True)
class CheckpointChoice:
    label: str  # what the picker shows
    path: str  # key in session state and the URL: relative to the repo root where possible

    @property
    def kind(self) -> str:
        return self.label.split(":", 1)[0]


def checkpoint_dir() -> Path:
    """Bundled checkpoints; GANLIB_CHECKPOINTS points elsewhere (tests, a shared model folder)."""
    return Path(os.environ.get("GANLIB_CHECKPOINTS", ROOT / "checkpoints"))


def runs_dir() -> Path:
    """Training runs started from the sidebar or the CLI; GANLIB_RUNS points elsewhere."""
    return Path(os.environ.get("GANLIB_RUNS", ROOT / "runs"))


def upload_dir() -> Path:
    return runs_dir() / "uploads"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else ROOT / candidate


def list_checkpoints() -> list[CheckpointChoice]:
    """Bundled files first (the default one at the top), then finished runs, then uploads."""
    bundled = sorted(checkpoint_dir().glob("*.safetensors"), key=lambda p: (p.name != DEFAULT_CHECKPOINT, p.name))
    runs = sorted(runs_dir().glob("*/generator.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    uploads = sorted(upload_dir().glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    return ([CheckpointChoice(f"bundled: {p.stem}", _relative(p)) for p in bundled]
            + [CheckpointChoice(f"run: {p.parent.name}", _relative(p)) for p in runs]
            + [CheckpointChoice(f"upload: {p.name.split('-', 1)[-1]}", _relative(p)) for p in uploads])


def save_upload(name: str, data: bytes) -> str:
    """Validate an uploaded checkpoint and keep it under runs/uploads; raise CheckpointError if it is not usable.
    Nothing is unpickled: the file is checked exactly as any checkpoint is loaded."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise CheckpointError(name, f"file is {len(data) / 2**20:.0f} MB; the upload limit is {MAX_UPLOAD_MB} MB")
    upload_dir().mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:10]
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)[:80]
    target = upload_dir() / f"{digest}-{safe_name}"
    temporary = target.with_suffix(".partial")
    temporary.write_bytes(data)
    try:
        Explorer.from_checkpoint(temporary)  # full validation: metadata, shapes, dtypes, finiteness
    except CheckpointError as error:
        temporary.unlink(missing_ok=True)
        raise CheckpointError(name, error.problem) from None
    os.replace(temporary, target)
    return _relative(target)


def _version(path: str) -> float:
    return resolve(path).stat().st_mtime


@st.cache_resource(max_entries=6, show_spinner="Loading the model...")
def _load_explorer(path: str, version: float) -> Explorer:
    return Explorer.from_checkpoint(resolve(path))


def explorer(path: str) -> Explorer:
    """The model for a checkpoint key, loaded once per file version. Raises CheckpointError for a bad file."""
    if not resolve(path).is_file():
        raise CheckpointError(path, "no such file")
    return _load_explorer(path, _version(path))


@st.cache_data(max_entries=32, show_spinner=False)
def metadata(path: str, version: float | None = None) -> dict:
    return read_metadata(resolve(path))


@dataclass(frozen=True)
class Samples:
    images: np.ndarray  # uint8 [N, H, W, 3]
    seeds: tuple[int, ...]
    d_scores: np.ndarray | None  # D(G(z)) per image
    attributes: dict[str, np.ndarray] | None  # attribute -> [N, classes] probabilities
    classes: dict[str, list[str]]  # attribute -> class names, in probability column order
    norms: np.ndarray  # ||z|| after truncation


@st.cache_data(max_entries=64, show_spinner=False)
def samples(path: str, seeds: tuple[int, ...], truncation: float = 1.0) -> Samples:
    model = explorer(path)
    z = model.latents(seeds, truncation)
    images = model.images(z)
    return Samples(images, tuple(seeds), model.discriminator_scores(z), model.attribute_probabilities(images),
                   model.attributes, z.norm(dim=1).numpy())


@st.cache_data(max_entries=32, show_spinner=False)
def interpolation(path: str, seeds: tuple[int, ...], frames: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames uint8 [F, H, W, 3], ||z|| per frame) for a walk through the seeds' latents."""
    model = explorer(path)
    return model.interpolate(model.latents(seeds), frames, method)


def upscaled(image: np.ndarray, factor: int) -> np.ndarray:
    return ganlib.images.upscale(image, factor)


def grid_png(images: np.ndarray, columns: int, scale: int = 1) -> bytes:
    return ganlib.png_bytes(ganlib.images.upscale(ganlib.make_grid(images, columns=columns), scale))


def latents_npy(path: str, seeds: tuple[int, ...], truncation: float) -> bytes:
    """The exact z behind a grid, as a .npy file (row i has seed seeds[i])."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, explorer(path).latents(seeds, truncation).numpy())
    return buffer.getvalue()
