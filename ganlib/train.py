"""The DCGAN Trainer: it knows nothing about any UI and reports through callbacks.

A run directory (names in run_directory.py) holds everything a later tool needs, and nothing needs the process that
wrote it:

    config.json                      the TrainConfig plus data set description
    status.json                      running | finished | stopped | failed | diverged, step, ETA, message, warning
                                     (for followers like the dashboard)
    stats.jsonl                      one JSON line every log_every steps (averaged over those steps)
    samples/step_000200.png          grids of the same fixed noise, so progress is comparable frame to frame
    checkpoints/step_001000.safetensors  with keep_checkpoints: a copy of every generator checkpoint
    generator.safetensors            the sampling generator (EMA) + discriminator: open it anywhere
    state/training_state.safetensors everything --resume needs (G, D, EMA, Adam states, batch RNG)

Batches and noise come from one seeded torch.Generator that is saved with the state, so on a CPU
"10 steps" and "5 steps, resume, 5 steps" produce the same weights.

A loss or weight that turns NaN or infinite ends the run as "diverged" (``TrainingDiverged``) without writing a
checkpoint, so the last good one stays in place and ``--resume`` continues from it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from . import distributed
from .checkpoint import first_non_finite, load_training_state, save_generator, save_training_state
from .config import RECORDED, TrainConfig, resume_settings
from .data import ImageDataset, load_dataset
from .ema import GeneratorEMA, recalibrate_batchnorm
from .images import generate, make_grid, save_png
from .latent import sample_latents
from .losses import (
    discriminator_fake_loss,
    discriminator_loss,
    discriminator_real_loss,
    generator_loss,
    js_divergence_estimate,
    value_function,
)
from .models import Discriminator, Generator
from .run_directory import (
    CONFIG_FILE,
    GENERATOR_FILE,
    KEPT_CHECKPOINTS_DIR,
    SAMPLES_DIR,
    STATE_FILE,
    STATS_FILE,
    STATUS_FILE,
    commit,
    remove_orphans,
    temporary_path,
    write_json,
)

Callback = Callable[[str, dict], None]  # (event, info); events: start, log, sample, warning, checkpoint, end, diverged
SAMPLE_GRID_SIZE = 64
# sample_diversity below this fraction of the real images' warns that G may have collapsed. Measured as ratios to
# the real images' 0.21-0.22 (digits, toonfaces): the bundled checkpoints' grids 0.87-1.07; a fresh G 0.23; the
# dip while a healthy 32-px run first learns the mean image, 0.13 at its lowest (digits, widths 32; 0.15-0.25 for
# widths 16 and 64, and for toonfaces); 64 latents jittered by 0.05 around one, near-identical images, 0.04-0.08.
# A warning, not a stop: a run can come back from a collapse, and this cannot see a collapse onto a few modes.
DIVERSITY_WARNING_RATIO = 0.1


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN or infinite at ``step``; no checkpoint was written from that state."""

    def __init__(self, step: int, quantity: str, checkpoint_step: int | None, run_dir: Path):
        self.step, self.quantity, self.checkpoint_step = step, quantity, checkpoint_step
        kept = (
            f"the checkpoint of step {checkpoint_step} is kept; continue from it with `ganlib train --resume "
            f"{run_dir}` (a lower --lr may avoid a repeat)"
            if checkpoint_step is not None
            else "no checkpoint had been written yet"
        )
        super().__init__(f"training diverged at step {step}: {quantity} is NaN or infinite; {kept}")


def sample_diversity(images: np.ndarray) -> float:
    """Per-pixel standard deviation across a batch of uint8 images, averaged over pixels and channels, in units
    of the pixel range: 0 when every image is the same, about 0.2 for real faces or digits."""
    return float(images.astype(np.float32).std(axis=0).mean() / 255.0)


def data_diversity(dataset: ImageDataset, seed: int, count: int = SAMPLE_GRID_SIZE) -> float:
    """sample_diversity of ``count`` real images (seeded, apart from the training RNG): the level that G's fixed-noise
    grid reaches when its images vary as much as the data."""
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:count]
    return sample_diversity(dataset.images[index].numpy())


FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_fast_bf16() -> bool:
    """True where the CPU has bf16 instructions (AMX tiles, or AVX-512 BF16): there bf16 autocast trains faster
    than fp32 (README, "Development", has the figures). Without them oneDNN emulates bf16, far slower than fp32."""
    flags = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return any(flag in flags for flag in FAST_BF16_CPU_FLAGS)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps was asked for, but MPS is not available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        model = next(
            (line.split(":", 1)[1].strip() for line in _cpuinfo_lines() if line.startswith("model name")),
            platform.processor(),
        )
        return f"cpu ({model}, {os.cpu_count()} cores)"
    return device.type


def _cpuinfo_lines() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def adam_implementation(name: str, device: torch.device) -> dict:
    """torch.optim.Adam's keywords for config.adam. Fused Adam has CPU and CUDA kernels (torch 2.4 and later);
    elsewhere (MPS) it falls back to foreach."""
    if name == "fused" and device.type not in ("cpu", "cuda"):
        name = "foreach"
    return {"fused": name == "fused", "foreach": name == "foreach"}


class Trainer:
    def __init__(self, config: TrainConfig, callbacks: list[Callback] = (), dataset: ImageDataset | None = None):
        self.config = config
        self.callbacks = list(callbacks)
        self.run_dir = Path(config.out)
        self.world, self.device = distributed.setup(resolve_device(config.device))
        self.precision = resolve_precision(config.precision, self.device)
        if self.precision == "bf16" and self.device.type == "mps":
            raise ValueError("bf16 autocast is not supported on MPS here; use --precision fp32")
        self.dataset = dataset or load_dataset(
            config.dataset, config.image_size, config.data_root, config.num_images, seed=config.seed
        )
        if self.dataset.image_size != config.image_size:
            raise ValueError(
                f"data set images are {self.dataset.image_size} px but the config asks for {config.image_size}"
            )
        self.model_config = config.model_config(self.dataset.channels)

        # channels_last lets oneDNN (CPU) and cuDNN (CUDA) pick faster convolution kernels (README, "Development").
        # It changes strides only, never values or checkpoints.
        self.memory_format = torch.channels_last if self.device.type in ("cpu", "cuda") else torch.contiguous_format
        torch.manual_seed(config.seed)  # weight init is the only user of the global RNG
        self.generator = Generator(self.model_config).to(self.device, memory_format=self.memory_format)
        self.discriminator = Discriminator(self.model_config).to(self.device, memory_format=self.memory_format)
        self.ema = GeneratorEMA(self.generator, config.ema_decay) if config.ema else None
        # Under torchrun, G and D train through DistributedDataParallel, which averages their gradients across
        # ranks; self.generator and self.discriminator stay the plain modules that are sampled and saved.
        self.generator_step, self.discriminator_step = self.generator, self.discriminator
        if self.world.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.generator_step = DistributedDataParallel(self.generator, device_ids=ids)
            self.discriminator_step = DistributedDataParallel(self.discriminator, device_ids=ids)
        adam = dict(lr=config.lr, betas=(config.beta1, config.beta2), **adam_implementation(config.adam, self.device))
        self.optimizer_g = torch.optim.Adam(self.generator.parameters(), **adam)
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), **adam)
        self.rng = torch.Generator().manual_seed(config.seed)  # batches and noise; saved for exact resume
        self.fixed_noise = sample_latents(SAMPLE_GRID_SIZE, self.model_config.latent_dim, config.sample_seed)

        self.step = 0
        self.history: list[dict] = []  # [{"step": s, "lr": ...}]: settings changed by --resume, and from when
        self.images_seen = 0
        self.elapsed_before = 0.0  # wall seconds spent in earlier sessions of this run
        self.last_stats: dict = {}
        self.stop_requested = False
        self.checkpoint_step: int | None = None  # the step of the checkpoint on disk, the one a divergence keeps
        self.data_diversity = data_diversity(self.dataset, config.sample_seed)
        self.sample_diversity: float | None = None  # of the latest grid; goes into the next stats line
        self.warning = ""  # for status.json, e.g. samples collapsing to one image
        self._sampling: tuple[int, Generator] | None = None  # (step, the sampling generator made at that step)

    # ------------------------------------------------------------------ public API
    @classmethod
    def resume(cls, run_dir, steps: int | None = None, callbacks: list[Callback] = (), **overrides) -> Trainer:
        """Continue a run from its directory; ``steps`` may extend it. ``overrides`` may set the settings that
        ``config.resume_settings()`` names: OVERRIDE ones leave G and D's training unchanged (the EMA only reads G),
        RECORDED ones change it on purpose (a lower lr for a run's last phase damps its oscillation) and are
        recorded, with their step, in config.json's ``history``."""
        run_dir = Path(run_dir)
        config_path = run_dir / CONFIG_FILE
        if not config_path.is_file():
            raise ValueError(f"cannot resume: {config_path} does not exist (is {str(run_dir)!r} a run directory?)")
        written = json.loads(config_path.read_text())
        saved = written["train"]
        saved["out"] = str(run_dir)
        if steps is not None:
            if saved.get("instance_noise") and not saved.get("instance_noise_steps"):
                saved["instance_noise_steps"] = saved["steps"]  # extending a run must not restart the annealing
            saved["steps"] = steps
        given = {k: v for k, v in overrides.items() if v is not None}
        how = resume_settings()
        unknown = sorted(set(given) - set(how))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} cannot change when a run resumes")
        changed = {k: v for k, v in given.items() if how[k] == RECORDED and v != saved.get(k)}
        saved.update(given)
        trainer = cls(TrainConfig.from_dict(saved), callbacks)
        trainer._load_state()
        trainer.history = written.get("history", [])
        if changed:
            trainer.history = trainer.history + [{"step": trainer.step, **changed}]
        return trainer

    def request_stop(self) -> None:
        """Ask the loop to finish the current step, write a checkpoint and return (safe from a signal handler)."""
        self.stop_requested = True

    def sampling_generator(self) -> Generator:
        """The generator to sample from: EMA with re-estimated BatchNorm, else the raw G in eval mode. Made once
        per step: the re-estimate runs G on 1,024 latents, and a stop (or a run's last step) needs it twice, for the
        sample grid and for the checkpoint; the weights, and so the result, are the same for both."""
        if self._sampling is None or self._sampling[0] != self.step:
            source = self.ema.model if self.ema is not None else self.generator
            self._sampling = (self.step, recalibrate_batchnorm(source, seed=self.config.sample_seed))
        return self._sampling[1]

    def run(self) -> Path:
        """Train to config.steps (or until request_stop) and return the generator file. Raises TrainingDiverged
        when a loss or weight turns NaN or infinite, leaving the last good checkpoint in place."""
        config = self.config
        if self.world.is_main:  # under torchrun only rank 0 writes: one run directory, however many processes
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
            remove_orphans(self.run_dir)
            self._truncate_stats()
            self._write_config()
        self._emit(
            "start",
            {
                "step": self.step,
                "steps": config.steps,
                "device": describe_device(self.device),
                "precision": self.precision,
                "dataset": self.dataset.name,
                "num_images": len(self.dataset),
            },
        )
        self._write_status("running")
        started = session_started = time.perf_counter()
        last_checkpoint = time.monotonic()
        window = _StatsWindow()
        try:
            while self.step < config.steps:
                values = self._train_step()
                self.step += 1
                due = time.monotonic() - last_checkpoint > config.checkpoint_minutes * 60
                out_of_time = (
                    bool(config.max_minutes) and time.perf_counter() - session_started > config.max_minutes * 60
                )
                # Under torchrun every rank takes the same branches below: the numbers are averaged and the stop and
                # checkpoint decisions shared (a signal or a clock can reach one rank a step before another).
                values, flags = distributed.average_and_any(
                    self.world, values, {"stop": self.stop_requested or out_of_time, "due": due}
                )
                # Every step, because it is free: _train_step has already brought these numbers to the host for
                # the stats. NaN weights make the next step's losses NaN, so this stops a run one step after it
                # breaks, before the NaN reaches a stats line or a sample grid. What the losses cannot show (a
                # BatchNorm running statistic, an Adam moment) _checkpoint checks before each write.
                bad = next((name for name, value in values.items() if not math.isfinite(value)), None)
                if bad is not None:
                    raise TrainingDiverged(self.step, bad, self.checkpoint_step, self.run_dir)
                window.add(values)
                if (self.step % config.sample_every == 0 or self.step == config.steps) and self.world.is_main:
                    self._save_samples()  # before the stats line, which then carries its sample_diversity
                if (self.step % config.log_every == 0 or self.step == config.steps) and self.world.is_main:
                    elapsed = self.elapsed_before + time.perf_counter() - started
                    self.last_stats = window.summary(self, elapsed)
                    if self.sample_diversity is not None:
                        self.last_stats["sample_diversity"], self.sample_diversity = self.sample_diversity, None
                    self._append_stats(self.last_stats)
                    self._emit("log", self.last_stats)
                    self._write_status("running")
                if (self.step % config.checkpoint_every == 0 or flags["due"]) and self.step < config.steps:
                    self.elapsed_before += time.perf_counter() - started
                    started = time.perf_counter()
                    self._checkpoint(finished=False)
                    last_checkpoint = time.monotonic()
                # A single process also stops for a request made during this step's logging; ranks stop together,
                # on the request all of them saw in the step's all-reduce.
                if flags["stop"] or (self.stop_requested and not self.world.distributed):
                    break
            self.elapsed_before += time.perf_counter() - started
            finished = self.step >= config.steps
            if not finished and self.step % config.sample_every != 0 and self.world.is_main:
                self._save_samples()
            path = self._checkpoint(finished=finished)
        except TrainingDiverged as error:
            self._write_status("diverged", message=str(error))
            self._emit(
                "diverged",
                {
                    "step": error.step,
                    "quantity": error.quantity,
                    "checkpoint_step": error.checkpoint_step,
                    "message": str(error),
                },
            )
            raise
        except BaseException as error:
            self._write_status("failed", message=f"{type(error).__name__}: {error}")
            raise
        self._write_status(
            "finished" if finished else "stopped",
            message="" if finished or self.stop_requested else f"stopped by --max-minutes {config.max_minutes:g}",
        )
        self._emit("end", {"step": self.step, "path": str(path), "finished": finished})
        return path

    # ------------------------------------------------------------------ one step
    def _autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def _this_rank(self, draw) -> torch.Tensor:
        """This rank's slice of a global draw: ``draw(n)`` draws n rows for all ranks from the shared generator, so
        ranks see different data while the generator's state stays the same on every rank (exact resume)."""
        batch = self.config.batch_size
        rows = draw(batch * self.world.size)
        return rows[self.world.rank * batch : (self.world.rank + 1) * batch]

    def _noise(self) -> torch.Tensor:
        latent_dim = self.model_config.latent_dim
        return self._this_rank(lambda n: torch.randn(n, latent_dim, generator=self.rng)).to(self.device)

    def _real_batch(self) -> torch.Tensor:
        index = self._this_rank(lambda n: torch.randint(len(self.dataset), (n,), generator=self.rng))
        return self.dataset.batch(index, self.device).contiguous(memory_format=self.memory_format)

    def instance_noise_std(self) -> float:
        """Instance noise (Sonderby et al. 2017) at the current step: config.instance_noise falling linearly to 0
        at instance_noise_steps (or at the run's last step).

        Real and generated images have (nearly) disjoint supports early on, where an optimal D separates them
        perfectly, JS sits at log 2 and G's gradient carries little. The same noise on both blurs the two
        distributions into overlap; annealing it returns the original game by the end."""
        horizon = self.config.instance_noise_steps or self.config.steps
        return self.config.instance_noise * max(0.0, 1.0 - self.step / horizon)

    def _with_instance_noise(self, images: torch.Tensor) -> torch.Tensor:
        std = self.instance_noise_std()
        if std == 0:
            return images
        shape = images.shape[1:]
        noise = self._this_rank(lambda n: torch.randn(n, *shape, generator=self.rng))
        return images + std * noise.to(self.device, memory_format=self.memory_format)

    def _train_step(self) -> dict:
        """k discriminator steps then one generator step; returns this step's measured quantities."""
        config = self.config
        for d_step in range(config.d_steps):
            real = self._with_instance_noise(self._real_batch())
            noise = self._noise()
            last = d_step == config.d_steps - 1
            with torch.set_grad_enabled(last):  # the last fake batch is reused for G's step
                with self._autocast():
                    fake = self.generator_step(noise)
                fake = self._with_instance_noise(fake)
            # D's two halves go backward one after the other, as pytorch/examples does: DDP averages gradients
            # once per backward, so the real half accumulates locally (no_sync) and the fake half's backward
            # averages their sum. The gradient is that of discriminator_loss either way.
            self.optimizer_d.zero_grad(set_to_none=True)
            with self._no_sync(self.discriminator_step):
                with self._autocast():
                    real_logits = self.discriminator_step(real).float()
                discriminator_real_loss(real_logits, config.label_smoothing).backward()
            with self._autocast():
                fake_logits = self.discriminator_step(fake.detach()).float()
            discriminator_fake_loss(fake_logits).backward()
            self.optimizer_d.step()
            with torch.no_grad():
                loss_d = discriminator_loss(real_logits, fake_logits, config.label_smoothing)
            self.images_seen += config.batch_size * self.world.size

        # G's loss reaches D's weights too, but D's gradient from it is thrown away: the plain module, not D's
        # DDP wrapper, so nothing is averaged for it.
        with self._autocast():
            fake_logits_for_g = self.discriminator(fake).float()
        loss_g = generator_loss(fake_logits_for_g, config.loss)
        self.optimizer_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizer_g.step()
        if self.ema is not None:
            self.ema.update(self.generator, self.step)

        with torch.no_grad():  # V is measured on what D saw, so with instance noise it is the noised game's V
            return {
                "loss_d": loss_d.item(),
                "loss_g": loss_g.item(),
                "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_fake": torch.sigmoid(fake_logits).mean().item(),
                "value": value_function(real_logits, fake_logits).item(),
            }

    @staticmethod
    def _no_sync(module):
        return module.no_sync() if isinstance(module, DistributedDataParallel) else contextlib.nullcontext()

    # ------------------------------------------------------------------ files
    def _emit(self, event: str, info: dict) -> None:
        if not self.world.is_main:
            return  # one progress bar and one set of events, however many processes
        for callback in self.callbacks:
            callback(event, info)

    def _write_config(self) -> None:
        write_json(
            self.run_dir / CONFIG_FILE,
            {
                "train": self.config.to_dict(),
                "model": self.model_config.to_dict(),
                "dataset": self.dataset.describe(),
                "history": self.history,
            },
        )

    def _write_status(self, state: str, message: str = "") -> None:
        if not self.world.is_main:
            return
        stats = self.last_stats
        rate = stats.get("steps_per_second") or 0
        eta = (self.config.steps - self.step) / rate if rate and state == "running" else None
        write_json(
            self.run_dir / STATUS_FILE,
            {
                "state": state,
                "step": self.step,
                "steps": self.config.steps,
                "pid": os.getpid(),
                "elapsed": stats.get("elapsed", self.elapsed_before),
                "eta_seconds": eta,
                "message": message,
                "warning": self.warning,
                "checkpoint_step": self.checkpoint_step,
                "updated": time.time(),
            },
        )

    def _append_stats(self, stats: dict) -> None:
        with open(self.run_dir / STATS_FILE, "a") as handle:
            handle.write(json.dumps(stats) + "\n")

    def _truncate_stats(self) -> None:
        """Drop stats lines past the step this session starts from: a run resumed after a kill or a divergence
        repeats those steps, and its curves must not run back in time (or show the NaN window)."""
        path = self.run_dir / STATS_FILE
        try:
            lines = path.read_text().splitlines(keepends=True)
        except OSError:
            return
        kept = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a half-written last line from a killed run
            if isinstance(row, dict) and row.get("step", 0) <= self.step:
                kept.append(line if line.endswith("\n") else line + "\n")
        if kept != lines:
            temporary = temporary_path(path)
            temporary.write_text("".join(kept))
            commit(temporary, path)

    def _save_samples(self) -> Path:
        images = generate(self.sampling_generator(), self.fixed_noise)
        path = save_png(make_grid(images, columns=8), self.run_dir / SAMPLES_DIR / f"step_{self.step:06d}.png")
        self._emit("sample", {"step": self.step, "path": str(path)})
        # A collapsed G maps every latent to (nearly) one image; on the 64-image grid that costs one std over
        # numbers already in memory, against seconds for the grid itself.
        self.sample_diversity = round(sample_diversity(images), 4)
        warning = ""
        if self.sample_diversity < DIVERSITY_WARNING_RATIO * self.data_diversity:
            warning = (
                f"samples look alike at step {self.step}: sample_diversity {self.sample_diversity:.3f}, "
                f"against {self.data_diversity:.3f} for real images; G may have collapsed to one output"
            )
            if not self.warning:
                self._emit("warning", {"step": self.step, "message": warning})
        self.warning = warning
        return path

    def _summary(self, finished: bool) -> dict:
        return {
            "steps": self.step,
            "images_seen": self.images_seen,
            "device": describe_device(self.device),
            "precision": self.precision,
            "wall_seconds": round(self.elapsed_before, 1),
            "finished": finished,
            "final_stats": self.last_stats,
            "config": self.config.to_dict(),
            "history": self.history,
            "ema": self.ema is not None,
            "torch_version": torch.__version__,
            "world_size": self.world.size,  # processes under torchrun; each drew batch_size images per step
        }

    def _checkpoint(self, finished: bool) -> Path:
        path = self.run_dir / GENERATOR_FILE
        if not distributed.fingerprints_agree(self.world, [self.generator, self.discriminator]):
            raise RuntimeError(f"the ranks' weights differ at step {self.step}; DDP lost their synchronisation")
        sampling = self.sampling_generator() if self.world.is_main else None
        bad = self._check_weights(sampling) if self.world.is_main else None
        # both files or neither: a state and generator from different steps confuse; every rank learns rank 0's verdict
        if distributed.broadcast_flag(self.world, bad is not None):
            raise TrainingDiverged(self.step, bad or "a tensor on rank 0", self.checkpoint_step, self.run_dir)
        if not self.world.is_main:
            self.checkpoint_step = self.step
            return path
        summary = self._summary(finished)
        save_training_state(
            self.run_dir / STATE_FILE,
            generator=self.generator,
            discriminator=self.discriminator,
            ema_generator=self.ema.model if self.ema else None,
            optimizer_g=self.optimizer_g,
            optimizer_d=self.optimizer_d,
            rng=self.rng,
            metadata={"training": summary, "dataset": self.dataset.describe()},
        )
        save_generator(
            path,
            sampling,
            {"dataset": self.dataset.describe(), "training": summary, "sample_seed": self.config.sample_seed},
            discriminator=self.discriminator,
        )
        self.checkpoint_step = self.step
        if self.config.keep_checkpoints:  # a run's best moment is often not its last: keep each one to compare
            kept = self.run_dir / KEPT_CHECKPOINTS_DIR / f"step_{self.step:06d}.safetensors"
            kept.parent.mkdir(exist_ok=True)
            temporary = temporary_path(kept)
            shutil.copyfile(path, temporary)
            commit(temporary, kept)
        self._emit("checkpoint", {"step": self.step, "path": str(path)})
        return path

    def _check_weights(self, sampling: Generator) -> str | None:
        """The name of a tensor a checkpoint would hold that is NaN or infinite, else None. Once per checkpoint, so
        its one host sync is lost in the file writes; the per-step loss check in run() catches most divergences
        sooner, this catches what never reaches a loss (BatchNorm statistics, Adam's moments)."""
        tensors = {}
        for prefix, module in (
            ("generator", self.generator),
            ("discriminator", self.discriminator),
            ("EMA generator", self.ema.model if self.ema else None),
            ("sampling generator", sampling),
        ):
            if module is not None:
                tensors.update({f"{prefix} {name}": tensor for name, tensor in module.state_dict().items()})
        for prefix, optimizer in (("G's Adam", self.optimizer_g), ("D's Adam", self.optimizer_d)):
            for index, values in optimizer.state_dict()["state"].items():
                tensors.update(
                    {f"{prefix} {index}.{key}": value for key, value in values.items() if torch.is_tensor(value)}
                )
        return first_non_finite(tensors)

    def _load_state(self) -> None:
        metadata = load_training_state(
            self.run_dir / STATE_FILE,
            generator=self.generator,
            discriminator=self.discriminator,
            ema_generator=self.ema.model if self.ema else None,
            optimizer_g=self.optimizer_g,
            optimizer_d=self.optimizer_d,
            rng=self.rng,
        )
        implementation = adam_implementation(self.config.adam, self.device)
        for optimizer in (self.optimizer_g, self.optimizer_d):
            for group in optimizer.param_groups:  # the saved param_groups carry the saved lr and implementation
                group.update(lr=self.config.lr, **implementation)
            # Adam's moments come back from the file contiguous, and the weights are channels_last: the loop
            # implementation does not mind, but the fused kernel walks both in memory order, and a resumed run
            # then drifted from the straight one (tests/test_train.py: test_resume_is_exact).
            for param, values in optimizer.state.items():
                for key, value in values.items():
                    if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                        values[key] = torch.empty_like(param).copy_(value)
                # load_state_dict placed Adam's step counter by the file's settings: a run saved as loop or foreach
                # keeps it on the CPU, where the fused CUDA kernel refuses it (pytorch/pytorch#104767)
                if implementation["fused"] and torch.is_tensor(values.get("step")):
                    values["step"] = values["step"].to(dtype=torch.float32, device=param.device)
        training = metadata["training"]
        self.step = self.checkpoint_step = training["steps"]
        self.images_seen = training["images_seen"]
        self.elapsed_before = training["wall_seconds"]
        self.last_stats = training.get("final_stats") or {}


class _StatsWindow:
    """Averages the per-step quantities over one logging interval, so the curves are not single-batch noise."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.count = 0
        self.window_started = time.perf_counter()
        self.images_at_start: int | None = None

    def add(self, values: dict) -> None:
        for key, value in values.items():
            self.totals[key] = self.totals.get(key, 0.0) + value
        self.count += 1

    def summary(self, trainer: Trainer, elapsed: float) -> dict:
        now = time.perf_counter()
        seconds = max(now - self.window_started, 1e-9)
        images = trainer.images_seen - (
            self.images_at_start
            if self.images_at_start is not None
            else trainer.images_seen - self.count * trainer.config.batch_size * trainer.config.d_steps
        )
        means = {key: total / max(self.count, 1) for key, total in self.totals.items()}
        stats = {
            "step": trainer.step,
            "epoch": round(trainer.images_seen / len(trainer.dataset), 4),
            "images_seen": trainer.images_seen,
            "elapsed": round(elapsed, 3),
            "images_per_second": round(images / seconds, 1),
            "steps_per_second": round(self.count / seconds, 3),
            **{key: round(value, 6) for key, value in means.items()},
            "js_estimate": round(js_divergence_estimate(means.get("value", -math.log(4))), 6),
        }
        self.totals, self.count, self.window_started, self.images_at_start = {}, 0, now, trainer.images_seen
        return stats
