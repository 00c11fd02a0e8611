"""Checkpoints as safetensors + JSON metadata: loading one never runs code (no pickle).

Two kinds of file, told apart by ``metadata["format"]``:
- ``ganlib-generator``: the sampling generator (EMA weights when EMA was on), optionally the discriminator,
  in fp32 or fp16. Small; the file to bundle, share and open in the dashboard.
- ``ganlib-training-state``: G, D, EMA, both Adam states and the batch RNG, for ``train --resume``.

The JSON sits under the safetensors metadata key ``"ganlib"`` and describes the file completely: architecture,
data set, training summary, fixed-noise seed, creation time. Every problem raises ``CheckpointError`` with a
one-line message that names the file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .checkpoint_schema import MAX_METADATA_BYTES, SCHEMA, SchemaError, check_metadata
from .config import ModelConfig
from .models import Discriminator, Generator
from .run_directory import naming, replacing
from .version import __version__

FORMAT_VERSION = 1
GENERATOR_FORMAT = "ganlib-generator"
TRAINING_STATE_FORMAT = "ganlib-training-state"
METADATA_KEY = "ganlib"
MAX_FILE_BYTES = 1 << 30  # 1 GiB: far above any DCGAN here; stops a stray huge file from filling memory


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the problem."""

    def __init__(self, path, problem: str):
        super().__init__(f"{Path(path).name}: {problem}")
        self.path = str(path)
        self.problem = problem


def first_non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or an infinity, else None. One host sync per
    device, however many tensors."""
    flags: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
    for name, tensor in tensors.items():
        if tensor.is_floating_point():
            flags.setdefault(tensor.device, []).append((name, torch.isfinite(tensor).all()))
    for entries in flags.values():
        finite = torch.stack([flag for _, flag in entries]).cpu()
        if not bool(finite.all()):
            return entries[int((~finite).nonzero()[0])][0]
    return None


def write_atomically(path: Path, tensors: dict[str, torch.Tensor], metadata: dict) -> None:
    """Write to a temp file beside the target, then rename (run_directory.commit): a crash never leaves a
    half-written checkpoint. Metadata that read_metadata would refuse (too long a note, an unprintable text) and
    tensors with NaN or infinite values are refused before anything is written, so ganlib never writes a file its
    own reader refuses, and a diverged model never replaces a good file."""
    path = Path(path)
    raw = metadata_text(path, metadata)
    with naming(path):  # a full disk or a name too long: one line that names the file, whoever writes it
        path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    bad = first_non_finite(tensors)
    if bad is not None:
        raise CheckpointError(
            path, f"not written: tensor {bad} contains NaN or infinite values (the file on disk is unchanged)"
        )
    with replacing(path) as temporary:
        save_file(tensors, str(temporary), metadata={METADATA_KEY: raw})
        # safetensors creates its files readable by their owner only (0600); a checkpoint gets the mode any other
        # new file gets (0644 under the usual umask), so a run or an exported file can be shared on a server
        os.chmod(temporary, 0o666 & ~_umask())


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread, for a moment)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def metadata_text(path, metadata: dict) -> str:
    """The JSON text to store as ``path``'s metadata, after the checks read_metadata applies to it; raises
    CheckpointError ("not written: ...") otherwise. A writer can call it at start-up to fail before its first file."""
    try:
        raw = json.dumps(metadata)
    except (TypeError, ValueError) as error:  # a value JSON has no form for, a circular reference
        raise CheckpointError(path, f"not written: its metadata cannot be stored as JSON ({error})") from None
    try:
        parse_metadata(path, raw)
    except CheckpointError as error:
        raise CheckpointError(path, f"not written: {error.problem}") from None
    return raw


def read_metadata(path) -> dict:
    """The JSON metadata of a ganlib checkpoint, without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CheckpointError(path, f"file is {size / 2**20:.0f} MB, larger than the {MAX_FILE_BYTES >> 20} MB limit")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
            count = 0 if raw is not None else len(handle.keys())
    except Exception as error:  # safetensors raises its own error types for non-safetensors bytes
        raise CheckpointError(path, f"not a safetensors file ({type(error).__name__})") from None
    if raw is None:
        raise CheckpointError(
            path, f"a safetensors file of {count} tensor(s), but not a ganlib checkpoint (it has no ganlib metadata)"
        )
    return parse_metadata(path, raw)


def parse_metadata(path, raw: str) -> dict:
    """The checks read_metadata applies to the JSON text stored in ``path`` (size, syntax, schema, version)."""
    if len(raw) > MAX_METADATA_BYTES:
        raise CheckpointError(
            path,
            f"its metadata is {len(raw) / 2**20:.1f} MB, more than the "
            f"{MAX_METADATA_BYTES >> 10} KB a checkpoint needs",
        )
    try:
        metadata = json.loads(raw)
    except RecursionError:
        raise CheckpointError(path, "its ganlib metadata is nested too deeply") from None
    except ValueError:
        raise CheckpointError(path, "its ganlib metadata is not valid JSON") from None
    try:
        kind = metadata.get("format") if isinstance(metadata, dict) else None
        check_metadata(metadata, SCHEMA if kind in (GENERATOR_FORMAT, TRAINING_STATE_FORMAT) else None)
    except SchemaError as error:
        raise CheckpointError(path, str(error)) from None
    version = metadata["format_version"]
    if version > FORMAT_VERSION:
        raise CheckpointError(
            path, f"format version {version!r} is not supported by this ganlib (reads up to {FORMAT_VERSION})"
        )
    return metadata


def _model_config(path, metadata: dict) -> ModelConfig:
    try:
        return ModelConfig.from_dict(metadata["model"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(path, f"invalid architecture in metadata: {error}") from None


def expected_tensors(module_class, config: ModelConfig) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Name -> (shape, dtype) of a module's state dict, built on the meta device: no memory, whatever the size."""
    with torch.device("meta"):
        module = module_class(config)
    return {name: (tuple(tensor.shape), tensor.dtype) for name, tensor in module.state_dict().items()}


SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def check_header(path, expected: dict[str, tuple[tuple[int, ...], torch.dtype]], prefix: str, what: str) -> None:
    """Compare the file's tensor names, shapes and dtypes under ``prefix`` with ``expected`` from the header alone,
    before any tensor is read or any model is built: a small file claiming a huge architecture fails here."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            found = {}
            for name in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                if name.startswith(prefix):
                    tensor = handle.get_slice(name)
                    found[name[len(prefix) :]] = (tuple(tensor.get_shape()), tensor.get_dtype())
    except Exception as error:
        raise CheckpointError(path, f"tensors cannot be read ({type(error).__name__})") from None
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(path, f"{what} weights do not match the architecture in the metadata ({detail})")
    for name, (shape, dtype) in expected.items():
        found_shape, found_dtype = found[name]
        if found_shape != shape:
            raise CheckpointError(path, f"{what} tensor {name} has shape {found_shape}, expected {shape}")
        allowed = (torch.float32, torch.float16, torch.bfloat16) if dtype.is_floating_point else (dtype,)
        if SAFETENSORS_DTYPES.get(found_dtype) not in allowed:
            raise CheckpointError(path, f"{what} tensor {name} has dtype {found_dtype}, expected {dtype}")


def _has_tensors(path, prefix: str) -> bool:
    with safe_open(str(path), framework="pt") as handle:
        return any(name.startswith(prefix) for name in handle.keys())  # noqa: SIM118


def _load_tensors(path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except Exception as error:
        raise CheckpointError(path, f"tensors cannot be read ({type(error).__name__}: {str(error)[:120]})") from None


def _take(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {name[len(prefix) :]: tensor for name, tensor in tensors.items() if name.startswith(prefix)}


def load_module_state(path, module: torch.nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Check names, shapes, dtypes and finiteness against the architecture, then load (upcasting fp16)."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(path, f"{what} weights do not match the architecture in the metadata ({detail})")
    for name, tensor in state.items():
        reference = expected[name]
        if tuple(tensor.shape) != tuple(reference.shape):
            raise CheckpointError(
                path, f"{what} tensor {name} has shape {tuple(tensor.shape)}, expected {tuple(reference.shape)}"
            )
        allowed = (
            (torch.float32, torch.float16, torch.bfloat16) if reference.is_floating_point() else (reference.dtype,)
        )
        if tensor.dtype not in allowed:
            raise CheckpointError(path, f"{what} tensor {name} has dtype {tensor.dtype}, expected {reference.dtype}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(path, f"{what} tensor {name} contains NaN or infinite values")
        if name.endswith("running_var") and bool((tensor < 0).any()):  # BatchNorm takes its square root
            raise CheckpointError(path, f"{what} tensor {name} holds a negative variance")
    module.load_state_dict({name: tensor.to(expected[name].dtype) for name, tensor in state.items()})


# ---------------------------------------------------------------- generator files (bundling, sharing, dashboard)

# What save_generator writes from its arguments (format, architecture, dtype, whether D is there): a rewritten copy
# passes the rest of the metadata on and lets save_generator write these afresh
STRUCTURAL_KEYS = ("format", "format_version", "model", "dtype", "has_discriminator")


def descriptive_metadata(metadata: dict) -> dict:
    """A generator file's metadata without STRUCTURAL_KEYS: what to pass to save_generator for a copy of it."""
    return {key: value for key, value in metadata.items() if key not in STRUCTURAL_KEYS}


def save_generator(
    path, generator: Generator, metadata: dict, discriminator: Discriminator | None = None, half: bool = False
) -> Path:
    """Write a generator file. ``metadata`` holds dataset/training/sample_seed (see ganlib.train); the
    architecture, format fields and creation time are added here. ``half`` stores fp16 to halve the size."""
    path = Path(path)
    dtype = torch.float16 if half else torch.float32

    def cast(tensor):
        return tensor.to(dtype) if tensor.is_floating_point() else tensor

    tensors = {f"generator.{k}": cast(v) for k, v in generator.state_dict().items()}
    if discriminator is not None:
        tensors.update({f"discriminator.{k}": cast(v) for k, v in discriminator.state_dict().items()})
    full = {
        **metadata,
        "format": GENERATOR_FORMAT,
        "format_version": FORMAT_VERSION,
        "ganlib_version": __version__,
        "model": generator.config.to_dict(),
        "dtype": str(dtype).replace("torch.", ""),
        "has_discriminator": discriminator is not None,
        "created": metadata.get("created") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomically(path, tensors, full)
    return path


def _read_generator_file(path):
    metadata = read_metadata(path)
    if metadata["format"] == TRAINING_STATE_FORMAT:
        raise CheckpointError(
            path,
            "this is a training-state file (for --resume); open the generator file "
            "(final.safetensors or generator_*.safetensors) in the same run directory",
        )
    if metadata["format"] != GENERATOR_FORMAT:
        raise CheckpointError(path, f"unknown checkpoint format {metadata['format']!r}")
    config = _model_config(path, metadata)
    check_header(path, expected_tensors(Generator, config), "generator.", "generator")
    if _has_tensors(path, "discriminator."):
        check_header(path, expected_tensors(Discriminator, config), "discriminator.", "discriminator")
    return metadata, config, _load_tensors(path)


PROBE_LATENTS = 2  # images drawn at load to see that the generator makes finite pixels
PROBE_SEED = 0


def probe_generator(path, generator: Generator) -> None:
    """Draw PROBE_LATENTS seeded images and refuse the file unless every pixel is finite. Finite weights can still
    make NaN images: weights large enough that a layer overflows to infinity, where the next layer adds infinities
    of opposite signs. Without this such a file loads and every page shows black tiles. The cost is one forward
    pass of two images, a fraction of what reading the file takes."""
    z = torch.randn(PROBE_LATENTS, generator.config.latent_dim, generator=torch.Generator().manual_seed(PROBE_SEED))
    device = next(generator.parameters()).device
    with torch.no_grad():
        finite = bool(torch.isfinite(generator.eval()(z.to(device))).all())
    if not finite:
        raise CheckpointError(path, "its generator makes NaN or infinite pixels from finite weights")


def load_generator(path) -> Generator:
    """An eval-mode fp32 Generator whose ``.config`` is its ModelConfig and ``.metadata`` the file's JSON, after a
    probe batch has shown that it draws finite images."""
    metadata, config, tensors = _read_generator_file(path)
    generator = Generator(config)
    load_module_state(path, generator, _take(tensors, "generator."), "generator")
    generator.metadata = metadata
    generator.checkpoint_path = str(path)
    probe_generator(path, generator)
    return generator.eval()


def load_discriminator(path) -> Discriminator | None:
    """The discriminator stored beside the generator, or None where the file has none."""
    metadata, config, tensors = _read_generator_file(path)
    state = _take(tensors, "discriminator.")
    if not state:
        return None
    discriminator = Discriminator(config)
    load_module_state(path, discriminator, state, "discriminator")
    discriminator.metadata = metadata
    return discriminator.eval()


# ---------------------------------------------------------------- training state (resume)


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict) -> dict:
    """Adam's per-parameter tensors go into the safetensors dict; its hyperparameters into JSON."""
    state = optimizer.state_dict()
    scalars = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, saved: dict, tensors: dict) -> dict:
    state: dict[int, dict] = {}
    for name, tensor in _take(tensors, prefix + ".").items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for name, value in saved["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": saved["param_groups"]}


def save_training_state(
    path, *, generator, discriminator, ema_generator, optimizer_g, optimizer_d, rng: torch.Generator, metadata: dict
) -> Path:
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("generator", generator), ("discriminator", discriminator), ("ema", ema_generator)):
        if module is not None:
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
    optimizers = {
        "g": _flatten_optimizer("optim_g", optimizer_g, tensors),
        "d": _flatten_optimizer("optim_d", optimizer_d, tensors),
    }
    tensors["rng.batches"] = rng.get_state()
    full = {
        **metadata,
        "format": TRAINING_STATE_FORMAT,
        "format_version": FORMAT_VERSION,
        "ganlib_version": __version__,
        "model": generator.config.to_dict(),
        "optimizers": optimizers,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomically(Path(path), tensors, full)
    return Path(path)


def load_training_state(
    path, *, generator, discriminator, ema_generator, optimizer_g, optimizer_d, rng: torch.Generator
) -> dict:
    """Restore everything saved by save_training_state into the given objects; return the metadata."""
    metadata = read_metadata(path)
    if metadata["format"] != TRAINING_STATE_FORMAT:
        raise CheckpointError(
            path, "not a training-state file; --resume needs the run directory's training_state.safetensors"
        )
    if _model_config(path, metadata) != generator.config:
        raise CheckpointError(path, "its architecture differs from the run's config.json")
    tensors = _load_tensors(path)
    load_module_state(path, generator, _take(tensors, "generator."), "generator")
    load_module_state(path, discriminator, _take(tensors, "discriminator."), "discriminator")
    if ema_generator is not None:
        load_module_state(path, ema_generator, _take(tensors, "ema."), "EMA generator")
    try:
        optimizer_g.load_state_dict(_unflatten_optimizer("optim_g", metadata["optimizers"]["g"], tensors))
        optimizer_d.load_state_dict(_unflatten_optimizer("optim_d", metadata["optimizers"]["d"], tensors))
        rng.set_state(tensors["rng.batches"])
    except (KeyError, ValueError, RuntimeError) as error:
        raise CheckpointError(path, f"optimizer or RNG state cannot be restored ({error})") from None
    return metadata
