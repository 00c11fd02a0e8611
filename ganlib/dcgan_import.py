"""``ganlib import-dcgan``: the checkpoints of pytorch/examples' ``dcgan/main.py`` as a ganlib generator file.

That script saves ``netG.state_dict()`` (and ``netD``'s) with ``torch.save``: its nets are ``nn.Sequential``
stacks under ``main.*`` whose layers are ganlib's own, in the same order (G: ConvTranspose, BatchNorm, ReLU, ...,
Tanh; D: Conv, LeakyReLU, Conv, BatchNorm, LeakyReLU, ..., Conv, Sigmoid), so the weights map one to one:
G's ``main.i`` is ganlib's ``net.i``; D's ``main.i`` is ``features.i``, and its last convolution is ``head``.
Their D ends in a Sigmoid, which has no weights; ganlib's D returns the logit, and its ``probability`` is the
sigmoid of it, the same number. The architecture is read from the shapes: nz from the first layer, ngf and nc
from the last, the image size from the number of transposed convolutions (their 64-px net, or the 32- and
128-px variants that drop or add a stride-2 layer).

The files are opened with ``torch.load(weights_only=True)``: tensors and containers only, never code. A whole
pickled module (``torch.save(netG)``), a file holding anything but tensors, or another network's state dict
raises CheckpointError with one line naming the file.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import torch

from .checkpoint import (
    MAX_FILE_BYTES,
    CheckpointError,
    load_module_state,
    probe_generator,
    read_metadata,
    save_generator,
)
from .checkpoint_schema import UNPRINTABLE, check_text
from .cli_checks import not_an_input, output_file
from .config import ModelConfig
from .models import Discriminator, Generator

SOURCE = "pytorch/examples dcgan"
_KEY = re.compile(r"main\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)")
_TERMINAL_STYLE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # torch's messages bold a word with an escape sequence


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """A state dict of tensors from a ``torch.save`` file, loaded without running code; ``module.`` prefixes
    (nn.DataParallel) are dropped."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CheckpointError(path, f"file is larger than the {MAX_FILE_BYTES >> 20} MB limit")
    try:
        # torch warns on stderr about what it finds (a sparse tensor's check), which would add lines to the one
        # line of a refusal; what the file holds is judged below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # an UnpicklingError for code, other errors for files that are not torch.save's
        message = UNPRINTABLE.sub("", _TERMINAL_STYLE.sub("", str(error).strip()))
        first_line = (message.splitlines() or [type(error).__name__])[0][:100]
        raise CheckpointError(
            path,
            "not a state dict that loads without running code (torch.load with weights_only=True refused it: "
            f"{first_line}); save netG.state_dict(), not the module",
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(path, f"holds {type(state).__name__}, not a state dict (name -> tensor)")
    if state and all(isinstance(key, str) and key.startswith("module.") for key in state):
        state = {key[len("module.") :]: value for key, value in state.items()}
    for key, value in state.items():
        if not isinstance(key, str):
            raise CheckpointError(
                path, f"has the key {repr(key)[:60]} ({type(key).__name__}), not a layer name such as 'main.0.weight'"
            )
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(path, f"entry {key[:60]!r} is {type(value).__name__}, not a tensor")
        if value.layout != torch.strided or value.is_meta or value.is_quantized or value.is_nested:
            kind = "meta" if value.is_meta else "quantized" if value.is_quantized else str(value.layout)[6:]
            raise CheckpointError(path, f"entry {key[:60]!r} is a {kind} tensor, not a dense one with its values")
    return state


def _convolutions(state: dict, path, what: str) -> list[int]:
    """Indices of the layers with 4-D weights, after checking every key is ``main.<i>.<parameter>``."""
    for key in state:
        if not _KEY.fullmatch(key):
            raise CheckpointError(path, f"entry {key[:60]!r} is not a layer of a pytorch/examples DCGAN {what}")
    indices = sorted({int(key.split(".")[1]) for key in state if state[key].dim() == 4 and key.endswith(".weight")})
    if len(indices) < 2:
        raise CheckpointError(path, f"not a pytorch/examples DCGAN {what}: {len(indices)} convolution(s)")
    return indices


def _size(convolutions: int, path, what: str) -> int:
    """Image side from the number of stride-2 (transposed) convolutions plus the 4 x 4 one."""
    size = 2 ** (convolutions + 1)
    if size not in (32, 64, 128):
        raise CheckpointError(path, f"a {what} for {size}-px images; ganlib builds 32, 64 and 128 px")
    return size


def _config(path, **values) -> ModelConfig:
    try:
        return ModelConfig(**values)
    except ValueError as error:
        raise CheckpointError(path, f"its shapes give an architecture ganlib does not build: {error}") from None


def _load(path, module: torch.nn.Module, state: dict, ours_to_theirs, what: str) -> None:
    """Rename their tensors to ours, check names and shapes with a message about their file, and load."""
    renamed = {}
    for name, tensor in module.state_dict().items():
        theirs = ours_to_theirs(name)
        if theirs not in state:
            if name.endswith("num_batches_tracked"):  # absent from files saved before PyTorch 0.4.1
                renamed[name] = torch.zeros((), dtype=torch.int64)
                continue
            raise CheckpointError(path, f"not the pytorch/examples DCGAN {what} its shapes suggest: no {theirs}")
        value = state[theirs]
        if tuple(value.shape) != tuple(tensor.shape):
            raise CheckpointError(
                path, f"{theirs} has shape {tuple(value.shape)}; a DCGAN {what} of this size has {tuple(tensor.shape)}"
            )
        renamed[name] = value.float() if value.is_floating_point() else value
    extra = sorted(set(state) - {ours_to_theirs(name) for name in module.state_dict()})
    if extra:
        raise CheckpointError(path, f"{extra[0]} has no place in a pytorch/examples DCGAN {what}")
    load_module_state(path, module, renamed, what)  # dtypes and finiteness


def import_generator(path) -> Generator:
    """An eval-mode Generator with the weights of pytorch/examples' netG state dict at ``path``, which draws finite
    images."""
    state = read_state_dict(path)
    convolutions = _convolutions(state, path, "generator")
    first, last = state[f"main.{convolutions[0]}.weight"], state[f"main.{convolutions[-1]}.weight"]
    config = _config(
        path,
        image_size=_size(len(convolutions), path, "generator"),
        channels=last.shape[1],
        latent_dim=first.shape[0],
        generator_width=last.shape[0],
        discriminator_width=last.shape[0],  # replaced by D's when there is one
    )
    generator = Generator(config)
    _load(path, generator, state, lambda name: "main." + name.removeprefix("net."), "generator")
    probe_generator(path, generator)  # as load_generator will, when the written file is opened
    return generator.eval()


def import_discriminator(path, generator_config: ModelConfig) -> Discriminator:
    """An eval-mode Discriminator with the weights of netD at ``path``, for images of ``generator_config``."""
    state = read_state_dict(path)
    convolutions = _convolutions(state, path, "discriminator")
    first = state[f"main.{convolutions[0]}.weight"]
    size = _size(len(convolutions), path, "discriminator")
    if size != generator_config.image_size or first.shape[1] != generator_config.channels:
        raise CheckpointError(
            path,
            f"a discriminator of {size}-px, {first.shape[1]}-channel images; the generator makes "
            f"{generator_config.image_size}-px, {generator_config.channels}-channel ones",
        )
    config = _config(path, **{**generator_config.to_dict(), "discriminator_width": first.shape[0]})
    discriminator = Discriminator(config)
    head = len(discriminator.features)

    def theirs(name: str) -> str:
        return f"main.{head}.weight" if name == "head.weight" else "main." + name.removeprefix("features.")

    _load(path, discriminator, state, theirs, "discriminator")
    return discriminator.eval()


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).expanduser().read_bytes()).hexdigest()


def import_dcgan(generator_path, out, discriminator_path=None, notes: str | None = None, half: bool = False) -> Path:
    """Write a ganlib generator file from pytorch/examples' netG (and netD) state dicts; return its path."""
    generator = import_generator(generator_path)
    discriminator = None
    if discriminator_path is not None:
        discriminator = import_discriminator(discriminator_path, generator.config)
        generator.config = discriminator.config  # the same images, and D's width for the model card
    sources = {"generator": {"file": Path(generator_path).name, "sha256": _sha256(generator_path)}}
    if discriminator_path is not None:
        sources["discriminator"] = {"file": Path(discriminator_path).name, "sha256": _sha256(discriminator_path)}
    names = " and ".join(source["file"] for source in sources.values())
    config = generator.config
    metadata = {
        "dataset": {"name": "unknown", "channels": config.channels, "image_size": config.image_size},
        "sample_seed": 0,
        "notes": notes
        or f"Imported from the pytorch/examples dcgan state dict(s) {names} by ganlib import-dcgan; "
        "those files do not say what data or how long the model was trained on.",
        "imported_from": {"source": SOURCE, **sources},
    }
    return save_generator(out, generator, metadata, discriminator=discriminator, half=half)


# ---------------------------------------------------------------- the command


def add_command(commands) -> None:
    parser = commands.add_parser(
        "import-dcgan",
        help="convert pytorch/examples dcgan checkpoints (netG.pth, netD.pth) to a ganlib checkpoint",
        description="Read the state dicts that pytorch/examples' dcgan/main.py saves (loaded with "
        "weights_only=True: tensors only, never code), infer nz, ngf, nc and the image size from the shapes, "
        "and write a self-describing ganlib checkpoint that every ganlib command and the dashboard open.",
        epilog="example:\n  python -m ganlib import-dcgan out/netG_epoch_24.pth --netd out/netD_epoch_24.pth "
        "--out celeba64.safetensors",
    )
    parser.add_argument("netg", metavar="NETG", help="the generator's state dict (netG_epoch_N.pth)")
    parser.add_argument("--netd", default=None, help="the discriminator's state dict (netD_epoch_N.pth), optional")
    parser.add_argument("--out", required=True, help="the ganlib checkpoint to write (.safetensors)")
    parser.add_argument("--notes", default=None, help="free text for the model card (default: where it came from)")
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the size)")
    parser.set_defaults(handler=_import_dcgan)


def _import_dcgan(args) -> int:
    out = output_file(args.out, (".safetensors",))
    not_an_input(out, [args.netg, args.netd])
    if args.notes is not None:  # before any work; save_generator checks the whole metadata again before writing
        check_text(args.notes, "--notes")
    path = import_dcgan(args.netg, out, args.netd, notes=args.notes, half=args.half)
    model = read_metadata(path)["model"]
    print(
        f"wrote {path}  ({model['image_size']} px, {model['channels']} channels, latent dim {model['latent_dim']}, "
        f"G width {model['generator_width']}, {'with D width ' + str(model['discriminator_width']) if args.netd else 'no D'})"
    )
    return 0
