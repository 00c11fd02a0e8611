"""Frozen, validated configuration for models and training runs.

``TrainConfig`` is the one declaration of every training setting: each field carries its help text, bounds,
choices and how ``--resume`` treats it (``Setting``). The CLI flags (``ganlib.cli``), the argv that
``ganlib.runs`` launches and the dashboard's training form are all derived from these fields, and
``validate_setting`` is the one check behind all of them. Adding a training option touches this file and the
code that uses the option, nothing else.

Both dataclasses round-trip through plain dicts (``to_dict`` / ``from_dict``) because they are stored as JSON
inside checkpoints and run directories: a checkpoint describes its own architecture, so loading it never needs
the flags it was trained with.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_SIZES = (32, 64, 128)
LOSSES = ("non-saturating", "minimax")
LOSS_LABELS = {"non-saturating": "non-saturating: −log D(G(z))", "minimax": "minimax: log(1 − D(G(z)))"}
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "bf16", "tf32", "fp32")
ADAM_IMPLEMENTATIONS = ("fused", "foreach", "loop")
AUGMENT_POLICIES = ("none", "translation", "translation-cutout", "color-translation-cutout")  # ganlib.augment
MAX_LATENT_DIM = 4096
MAX_WIDTH = 1024

# How --resume treats a setting: fixed by the run (changing it would break exact resume), an override that leaves
# G and D's training unchanged, or a deliberate change of training that config.json's history records.
FIXED, OVERRIDE, RECORDED = "fixed", "override", "recorded"


@dataclass(frozen=True)
class Setting:
    """What a TrainConfig field means to people: help text, bounds, choices, and where it appears."""

    help: str
    low: float | None = None  # bounds; open or closed as `interval` says ("[]", "(]", "[)", "()")
    high: float | None = None
    interval: str = "[]"
    choices: tuple | None = None
    choice_labels: dict | None = None  # how the form names each choice
    label: str | None = None  # the dashboard form's label; None keeps the setting out of the form
    step: float | None = None  # the form's increment
    format: str | None = None  # the form's number format, e.g. "%.5f"
    form_default: Any = None  # the form's starting value where a short live run wants another than the CLI's
    resume: str = FIXED


def setting(default: Any, help: str, **details) -> Any:
    return dataclasses.field(default=default, metadata={"setting": Setting(help=help, **details)})


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class _DictMixin:
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        """Build from a dict, ignoring keys this version does not know (newer files stay readable)."""
        if not isinstance(values, dict):
            raise ValueError(f"{cls.__name__} must be a JSON object, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class ModelConfig(_DictMixin):
    image_size: int = 64  # output side in pixels: 32, 64 or 128
    channels: int = 3  # 1 for grayscale, 3 for RGB
    latent_dim: int = 100  # length of z; the DCGAN paper uses 100
    generator_width: int = 64  # channels of G's last hidden layer ("ngf"); earlier layers use multiples of it
    discriminator_width: int = 64  # channels of D's first layer ("ndf")

    def __post_init__(self):
        _require(
            _is_int(self.image_size) and self.image_size in IMAGE_SIZES,
            f"image_size must be one of {IMAGE_SIZES}, got {self.image_size!r}",
        )
        _require(_is_int(self.channels) and self.channels in (1, 3), f"channels must be 1 or 3, got {self.channels!r}")
        _require(
            _is_int(self.latent_dim) and 1 <= self.latent_dim <= MAX_LATENT_DIM,
            f"latent_dim must be an integer from 1 to {MAX_LATENT_DIM}, got {self.latent_dim!r}",
        )
        for name in ("generator_width", "discriminator_width"):
            value = getattr(self, name)
            _require(
                _is_int(value) and 4 <= value <= MAX_WIDTH,
                f"{name} must be an integer from 4 to {MAX_WIDTH}, got {value!r}",
            )

    @property
    def num_upsamplings(self) -> int:
        """Stride-2 layers between the 4x4 seed and the image: 3 for 32 px, 4 for 64 px, 5 for 128 px."""
        return int(math.log2(self.image_size)) - 2


@dataclass(frozen=True)
class TrainConfig(_DictMixin):
    dataset: str = setting(
        "toonfaces",
        "toonfaces, digits, mnist, fashion-mnist, cifar10, celeba, or a folder of "
        "images (subfolders become class labels)",
        label="Data set",
    )
    out: str = setting(
        "runs/default",
        "run directory: config.json, stats.jsonl, samples/, checkpoints (the CLI's default is runs/<dataset>-<size>px)",
    )
    image_size: int = setting(
        64,
        "side of the generated images in pixels",
        choices=IMAGE_SIZES,
        label="Image size",
        choice_labels={size: f"{size} px" for size in IMAGE_SIZES},
        form_default=32,
    )
    latent_dim: int = setting(100, "length of z (the DCGAN paper uses 100)", low=1, high=MAX_LATENT_DIM)
    generator_width: int = setting(
        64, "G's base channel count (ngf); earlier layers use multiples of it", low=4, high=MAX_WIDTH
    )
    discriminator_width: int = setting(64, "D's base channel count (ndf)", low=4, high=MAX_WIDTH)
    steps: int = setting(
        2000, "generator steps (each after k discriminator steps)", low=1, high=10_000_000, label="Steps", step=100
    )
    batch_size: int = setting(
        64,
        "images per batch per process (under torchrun each of N processes draws this many: the global batch is N "
        "times it)",
        low=2,
        high=4096,
        label="Batch size",
        step=8,
        # a short run from the sidebar learns more per CPU-minute with 32: FD ratio 44 against 49-59 with 64 after
        # 5 CPU-minutes at 32 px, and 81-87 against 133-159 after 2 (benchmarks/bench_recipe.py, docs/bench_recipe.md)
        form_default=32,
    )
    lr: float = setting(
        2e-4,
        "Adam learning rate for both nets (the DCGAN paper uses 0.0002). With --resume it "
        "sets a new rate from then on, recorded in config.json's history: a lower one damps a long "
        "run's oscillation",
        low=0,
        high=0.1,
        interval="(]",
        label="Learning rate",
        step=1e-5,
        format="%.5f",
        resume=RECORDED,
    )
    discriminator_lr: float = setting(
        0.0,
        "D's own Adam learning rate (0: the same as --lr). Below G's, D wins less often early on (the two "
        "time-scale rule of Heusel et al. 2017 suggests the opposite order for its proof; bench_recipe measures both)",
        low=0,
        high=0.1,
    )
    beta1: float = setting(
        0.5, "Adam beta1 (the DCGAN paper's 0.5; the default 0.9 oscillates)", low=0, high=1, interval="[)"
    )
    beta2: float = setting(0.999, "Adam beta2", low=0, high=1, interval="[)")
    adam: str = setting(
        "fused",
        "how Adam's update is computed, the same maths three ways: fused (one kernel for all weights; CPU and CUDA, "
        "else foreach), foreach (one kernel per operation) or loop (one per tensor, as pytorch/examples does)",
        choices=ADAM_IMPLEMENTATIONS,
        resume=OVERRIDE,
    )
    loss: str = setting(
        "non-saturating",
        "generator loss: -log D(G(z)), or the original minimax log(1 - D(G(z))), "
        "which saturates early while D rejects G's images",
        choices=LOSSES,
        choice_labels=LOSS_LABELS,
        label="Generator loss",
    )
    d_steps: int = setting(
        1,
        "discriminator steps per generator step (k in Goodfellow et al. 2014)",
        low=1,
        high=100,
        label="D-steps (k)",
        step=1,
    )
    label_smoothing: float = setting(
        0.0,
        "one-sided label smoothing: D's target for real images is 1 minus this, "
        "so D cannot grow ever more confident on them (Salimans et al. 2016); try 0.1 "
        "when D wins",
        low=0,
        high=0.5,
        interval="[)",
        label="Label smoothing",
        step=0.05,
        format="%.2f",
    )
    instance_noise: float = setting(
        0.1,
        "std of Gaussian noise added to every image D sees, real and fake, falling "
        "linearly to 0 by the last step: the two distributions overlap, so D cannot "
        "separate them perfectly early on (Sønderby et al. 2017). Images span -1 to 1; "
        "0 turns it off (the DCGAN paper's game). The default 0.1 gave the best quality per CPU-minute of the "
        "recipes benchmarks/bench_recipe.py compared (docs/bench_recipe.md)",
        low=0,
        high=2,
        label="Instance noise",
        step=0.05,
        format="%.2f",
    )
    instance_noise_steps: int = setting(
        0,
        "the step where instance noise reaches 0 (0: the last step; extending a run with --resume keeps the old end)",
        low=0,
        high=10_000_000,
    )
    instance_noise_floor: float = setting(
        0.0,
        "instance noise never falls below this std (0: it falls to 0). Since the same noise blurs real and "
        "generated images, G's optimum is still the data distribution; a floor keeps D from sharpening again late",
        low=0,
        high=2,
    )
    r1_gamma: float = setting(
        0.0,
        "weight of the R1 penalty (gamma / 2) E||grad_x D(x)||^2 on real images (Mescheder et al. 2018), applied "
        "lazily every 16 steps with 16 times the weight as StyleGAN2 does (0: off). It keeps D smooth where the data "
        "is, which damps the oscillation around equilibrium",
        low=0,
        high=1000,
    )
    augment: str = setting(
        "none",
        "differentiable augmentation of every image D sees, real and generated (Zhao et al. 2020): helps D not "
        "memorise a small data set such as digits",
        choices=AUGMENT_POLICIES,
    )
    ema: bool = setting(True, "sample from an exponential moving average of G (--no-ema: from the raw G)")
    ema_decay: float = setting(
        0.999,
        "final decay of G's moving average (half-life ln 2 / (1 - decay) steps; it warms "
        "up from 0 so early checkpoints are not a blur). With --resume it changes the average "
        "from then on; G and D train the same either way",
        low=0,
        high=1,
        interval="[)",
        resume=RECORDED,
    )
    log_every: int = setting(10, "steps between lines of stats.jsonl", low=1, high=10_000_000, resume=OVERRIDE)
    sample_every: int = setting(200, "steps between sample grids in samples/", low=1, high=10_000_000, resume=OVERRIDE)
    checkpoint_every: int = setting(1000, "steps between checkpoints", low=1, high=10_000_000, resume=OVERRIDE)
    checkpoint_minutes: float = setting(
        3.0, "also checkpoint at least this often", low=0, high=10_000, interval="(]", resume=OVERRIDE
    )
    max_minutes: float = setting(
        0.0,
        "stop after this many minutes of training in this session, with a checkpoint, as Ctrl-C does (0: no limit); "
        "for a run that must fit a time slot, such as a lent GPU",
        low=0,
        high=10_000_000,
        resume=OVERRIDE,
    )
    keep_checkpoints: bool = setting(
        False,
        "also keep every checkpoint as OUT/checkpoints/step_NNNNNN.safetensors "
        "(to pick the best one with evaluate; each is a full G + D file)",
        resume=OVERRIDE,
    )
    seed: int = setting(
        0, "seeds weights, batches and noise: a CPU run with the same seed is reproducible", low=0, high=2**63 - 1
    )
    sample_seed: int = setting(0, "seed of the fixed noise behind every sample grid", low=0, high=2**63 - 1)
    device: str = setting("auto", "where to train", choices=DEVICES, resume=OVERRIDE)
    precision: str = setting(
        "auto",
        "auto: bf16 where it is native (GPUs of compute capability 8.0 or later, CPUs with AMX or AVX-512 BF16), "
        "else fp32; tf32: fp32 with TF32 convolutions on those GPUs (fp32 never uses TF32)",
        choices=PRECISIONS,
        resume=OVERRIDE,
    )
    deterministic: bool = setting(
        False,
        "on a GPU, deterministic cuDNN algorithms instead of the fastest, so a resumed run is bit-for-bit the "
        "straight one (slower; a CPU run is exact without it)",
        resume=OVERRIDE,
    )
    data_root: str = setting("data", "where torchvision data sets are (or are downloaded to)")
    num_images: int = setting(30000, "toonfaces to render; a cap for other data sets (0 = all)", low=0, high=10_000_000)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            error = validate_setting(field.name, value)
            if error:
                raise ValueError(error)
            if _field_type(field) is float and _is_int(value):
                object.__setattr__(self, field.name, float(value))  # 1 from JSON or a form means 1.0
        self.model_config(channels=3)  # latent_dim and widths with ModelConfig's messages
        problem = memory_problem(self)  # here, so the CLI, the form and a resumed config.json all say the same
        if problem:
            raise ValueError(problem)

    def model_config(self, channels: int) -> ModelConfig:
        return ModelConfig(
            image_size=self.image_size,
            channels=channels,
            latent_dim=self.latent_dim,
            generator_width=self.generator_width,
            discriminator_width=self.discriminator_width,
        )


# ------------------------------------------------------------------------------------ derived from the fields
def settings() -> dict[str, tuple[dataclasses.Field, Setting]]:
    """Every TrainConfig field with its Setting, in declaration order."""
    return {field.name: (field, field.metadata["setting"]) for field in dataclasses.fields(TrainConfig)}


def _field_type(field: dataclasses.Field) -> type:
    return {"int": int, "float": float, "bool": bool, "str": str}[str(field.type)]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def describe_bounds(spec: Setting) -> str:
    if spec.choices is not None:
        return "one of " + ", ".join(map(str, spec.choices))
    low, high = (f"{bound:,}" if isinstance(bound, int) else f"{bound:g}" for bound in (spec.low, spec.high))
    if spec.interval == "[]":
        return f"from {low} to {high}"
    return f"in {spec.interval[0]}{low}, {high}{spec.interval[1]}"


def validate_setting(name: str, value) -> str:
    """The one check of a training setting: "" when ``value`` is fine, else the message the CLI, the dashboard
    form and TrainConfig show."""
    field, spec = settings()[name]
    kind = _field_type(field)
    if kind is bool:
        return "" if isinstance(value, bool) else f"{name} must be true or false, got {value!r}"
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            return f"{name} must be a non-empty string, got {value!r}"
        if spec.choices is not None and value not in spec.choices:
            return f"{name} must be {describe_bounds(spec)}, got {value!r}"
        return ""
    if not (_is_int(value) or (kind is float and isinstance(value, float))):
        return f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
    if kind is float and not math.isfinite(value):
        return f"{name} must be a finite number, got {value!r}"
    if spec.choices is not None:
        return "" if value in spec.choices else f"{name} must be {describe_bounds(spec)}, got {value!r}"
    low_ok = value > spec.low if spec.interval[0] == "(" else value >= spec.low
    high_ok = value < spec.high if spec.interval[1] == ")" else value <= spec.high
    return "" if low_ok and high_ok else f"{name} must be {describe_bounds(spec)}, got {value!r}"


def flag(name: str) -> str:
    """The CLI flag of a setting: ``instance_noise`` -> ``--instance-noise`` (``ema`` is ``--no-ema``)."""
    field, _ = settings()[name]
    if _field_type(field) is bool and field.default is True:
        return "--no-" + name.replace("_", "-")
    return "--" + name.replace("_", "-")


def to_argv(config: TrainConfig) -> list[str]:
    """The ``ganlib train`` flags that rebuild ``config`` (settings at their default are left out)."""
    argv = []
    for name, (field, _) in settings().items():
        value = getattr(config, name)
        if value == field.default:
            continue
        if _field_type(field) is bool:
            argv.append(flag(name))  # a bool differs from its default only one way
        else:
            argv += [flag(name), repr(value) if isinstance(value, float) else str(value)]
    return argv


def resume_settings() -> dict[str, str]:
    """Settings that ``--resume`` may change, and how (OVERRIDE or RECORDED)."""
    return {name: spec.resume for name, (_, spec) in settings().items() if spec.resume != FIXED}


# ------------------------------------------------------------------------------------ the memory a run needs
# The schema's bounds allow runs no machine holds (128 px, latent 4096, widths 1024: 4.1 billion weights, ~70 GiB
# with Adam), and batch 4096 at 128 px needs ~36 GB of activations; either ends in an allocator error or the OOM
# killer after minutes. TrainConfig refuses, with one line, a run whose estimate exceeds this machine's memory:
#   bytes = RUNTIME + 4 * PARAMETER_COPIES * (G and D weights)
#           + 4 * ACTIVATION_FACTOR * (values G and D output per image) * batch + toonfaces' images,
# calibrated on the peak RSS of real fp32 CPU runs (docs/memory_estimate.md: the table and the command). A GPU run
# holds its tensors in the GPU's memory instead, so there the bound is the host's, a loose one.
RUNTIME_BYTES = 1 << 30  # python, torch (with its CUDA libraries) and ganlib before any tensor: 1.05 GiB measured
PARAMETER_COPIES = 8  # weights, gradient, Adam's two moments, EMA and sampling copies of G, checkpoint writes: 7.1-7.4
ACTIVATION_FACTOR = 2.0  # what autograd keeps per layer output value (BatchNorm's input and output, ...): 1.2-2.0
BATCHNORM_BATCH = 64  # sampling re-estimates BatchNorm on batches of 64 (ganlib.ema), whatever the training batch


MAX_WIDTH_MULTIPLIER = 8  # the paper's 64-px nets go up to 8 * 64 = 512 channels; 128 px stays there too


def channel_widths(base: int, num_upsamplings: int) -> list[int]:
    """Channel counts from the 4x4 layer outward, e.g. 64 px, base 64: [512, 256, 128, 64]. ganlib.models builds
    its layers from these, and the memory estimate counts them without building anything."""
    return [base * min(2**i, MAX_WIDTH_MULTIPLIER) for i in reversed(range(num_upsamplings))]


def parameter_counts(model: ModelConfig) -> tuple[int, int]:
    """(G's, D's) number of weights, BatchNorm's included, counted from the architecture without building it."""
    widths = channel_widths(model.generator_width, model.num_upsamplings)
    generator = model.latent_dim * widths[0] * 16 + 2 * widths[0] + widths[-1] * model.channels * 16
    generator += sum(a * b * 16 + 2 * b for a, b in zip(widths, widths[1:]))
    widths = list(reversed(channel_widths(model.discriminator_width, model.num_upsamplings)))
    discriminator = model.channels * widths[0] * 16 + widths[-1] * 16
    discriminator += sum(a * b * 16 + 2 * b for a, b in zip(widths, widths[1:]))
    return generator, discriminator


def activations_per_image(model: ModelConfig) -> int:
    """The values G's and D's layers output for one image (G's from the 4x4 layer to the image, D's back down)."""
    sides = [4 * 2**i for i in range(model.num_upsamplings)]  # G's hidden layers: 4, 8, ..., image_size / 2
    generator = sum(w * s * s for w, s in zip(channel_widths(model.generator_width, model.num_upsamplings), sides))
    widths = reversed(channel_widths(model.discriminator_width, model.num_upsamplings))
    discriminator = sum(w * s * s for w, s in zip(widths, reversed(sides)))  # D's: back down to 4
    return generator + discriminator + 2 * model.channels * model.image_size**2


def training_memory_bytes(config: TrainConfig, channels: int = 3) -> int:
    """An estimate of a training process's peak memory for ``config`` in fp32 (bf16 needs less)."""
    model = config.model_config(channels)
    generator, discriminator = parameter_counts(model)
    weights = 4 * PARAMETER_COPIES * (generator + discriminator)
    batch = max(config.batch_size, BATCHNORM_BATCH)
    activations = int(4 * ACTIVATION_FACTOR * activations_per_image(model) * batch)
    # toonfaces renders exactly num_images pictures, held as bytes; other sets' sizes are known only once loaded
    images = (config.num_images or 30000) * channels * config.image_size**2 if config.dataset == "toonfaces" else 0
    return RUNTIME_BYTES + weights + activations + images


def machine_memory_bytes() -> int | None:
    """This machine's physical memory, or its cgroup's limit where that is lower (a container is killed at its
    limit, not at the machine's); None where neither can be read."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX
        total = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(path).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():  # "max" means no limit
            total = int(limit) if total is None else min(total, int(limit))
    return total


def memory_problem(config: TrainConfig) -> str:
    """Empty when ``config``'s estimated peak memory fits this machine, else one line saying both figures."""
    available = machine_memory_bytes()
    need = training_memory_bytes(config)
    if available is None or need <= available:
        return ""
    generator, discriminator = parameter_counts(config.model_config(3))
    return (
        f"this run needs about {need / 2**30:.1f} GiB of memory ({(generator + discriminator) / 1e6:,.0f} million "
        f"weights, batch {config.batch_size} at {config.image_size} px), more than this machine's "
        f"{available / 2**30:.1f} GiB; use a smaller batch size, image size, latent size or widths"
    )
