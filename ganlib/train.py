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
    .writer.lock                     flock'ed by the one trainer writing the directory (a second one stops at
                                     once); removed when it ends

Batches and noise come from one seeded torch.Generator on the training device that is saved with the state, so
"10 steps" and "5 steps, resume, 5 steps" produce the same weights on a CPU, and on a GPU with --deterministic
(devices.py says why the default GPU run is not bit-exact).

A loss or weight that turns NaN or infinite ends the run as "diverged" (``TrainingDiverged``) without writing a
checkpoint, so the last good one stays in place and ``--resume`` continues from it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from . import devices, distributed
from .augment import augment
from .checkpoint import (
    FORMAT_VERSION,
    GENERATOR_FORMAT,
    TRAINING_STATE_FORMAT,
    CheckpointError,
    first_non_finite,
    load_training_state,
    metadata_text,
    save_generator,
    save_training_state,
)
from .checkpoint_schema import MAX_ITEMS
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
    RunDirectoryBusy,
    WriterLock,
    load_json,
    naming,
    remove_orphans,
    replacing,
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
R1_EVERY = 16  # steps between lazy R1 penalties (StyleGAN2's interval)
STATUS_SECONDS = 1.0  # status.json is rewritten (two fsyncs) at most this often while running


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
        self.world, self.device, device_note = distributed.setup(config.device)
        # One writer per run directory: a second trainer for it (another `train --out`, a --resume, a dashboard run)
        # stops here, before it loads data or writes anything.
        self._lock: WriterLock | None = None  # rank 0's
        self._writing = False  # the lock is held for this trainer (by rank 0, for every rank)
        self._lock_run_directory()
        try:
            self._build(dataset, device_note)
        except BaseException:
            self.release()  # a trainer that cannot start writes nothing: the next one may start at once
            raise

    def _build(self, dataset: ImageDataset | None, device_note: str) -> None:
        """The constructor's work once the run directory is this trainer's: data, models, optimisers, counters."""
        config = self.config
        self.precision = devices.resolve_precision(config.precision, self.device)
        devices.configure_backends(self.device, self.precision, config.deterministic)
        self.notes = [device_note] if device_note else []  # one line each for the user; the CLI prints them
        self.dataset = dataset or load_dataset(
            config.dataset, config.image_size, config.data_root, config.num_images, seed=config.seed
        )
        if self.dataset.image_size != config.image_size:
            raise ValueError(
                f"data set images are {self.dataset.image_size} px but the config asks for {config.image_size}"
            )
        self.model_config = config.model_config(self.dataset.channels)
        # The uint8 images move to the GPU when they fit, so a batch is gathered there instead of copied each step.
        on_device = devices.data_fits_on_device(self.dataset.images.nbytes, self.device)
        self.training_images = (
            ImageDataset(self.dataset.name, self.dataset.images.to(self.device)) if on_device else self.dataset
        )

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
        self.optimizer_d = torch.optim.Adam(self.discriminator.parameters(), **{**adam, "lr": self.discriminator_lr})
        # batches and noise, drawn on the training device; saved for exact resume
        self.rng = torch.Generator(device=self.device).manual_seed(config.seed)
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
        written = load_json(config_path)
        saved = written.get("train") if isinstance(written, dict) else None
        history = written.get("history", []) if isinstance(written, dict) else None
        if not isinstance(saved, dict) or not (isinstance(history, list) and all(isinstance(h, dict) for h in history)):
            raise ValueError(
                f"cannot resume: {config_path} is not the config.json of a ganlib run (no 'train' settings)"
            )
        saved["out"] = str(run_dir)
        if steps is not None:
            if saved.get("instance_noise") and not saved.get("instance_noise_steps"):
                # extending a run must not restart the annealing
                saved["instance_noise_steps"] = saved.get("steps", TrainConfig.steps)
            saved["steps"] = steps
        given = {k: v for k, v in overrides.items() if v is not None}
        how = resume_settings()
        unknown = sorted(set(given) - set(how))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} cannot change when a run resumes")
        changed = {k: v for k, v in given.items() if how[k] == RECORDED and v != saved.get(k)}
        saved.update(given)
        try:
            config = TrainConfig.from_dict(saved)
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot resume: {config_path}: {error}") from None
        trainer = cls(config, callbacks)
        try:
            trainer._load_state()
        except BaseException:
            trainer.release()  # this process will not write the run: let the next one in at once
            raise
        trainer.history = history
        if changed:
            trainer.history = trainer.history + [{"step": trainer.step, **changed}]
        return trainer

    def request_stop(self) -> None:
        """Ask the loop to finish the current step, write a checkpoint and return (safe from a signal handler)."""
        self.stop_requested = True

    @property
    def discriminator_lr(self) -> float:
        return self.config.discriminator_lr or self.config.lr

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
        when a loss or weight turns NaN or infinite, leaving the last good checkpoint in place. Holds the run
        directory's writer lock until it returns."""
        try:
            self._lock_run_directory()  # taken by the constructor; again for a second run() of one trainer
            self._check_checkpoint_metadata()
            return self._run()
        finally:
            self.release()

    def release(self) -> None:
        """Let another trainer write the run directory (run() does it when it returns; safe to call twice)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._writing = False

    def _lock_run_directory(self) -> None:
        """Take the run directory's writer lock (rank 0 for all ranks under torchrun), or raise RunDirectoryBusy."""
        if self._writing:  # the same answer on every rank, so all of them skip the broadcast below, or none
            return
        failure = None
        if self.world.is_main:
            try:
                self._lock = WriterLock.acquire(self.run_dir)
            except Exception as error:  # every rank must learn of it, or the others wait in a collective forever
                failure = error
        if distributed.broadcast_flag(self.world, failure is not None):
            raise failure or RunDirectoryBusy(f"{self.run_dir} is being written by another training process")
        self._writing = True

    def _check_checkpoint_metadata(self) -> None:
        """Refuse, before the first step, a run whose checkpoints would be refused when read back: their metadata
        must pass checkpoint_schema's bounds, or the run's work is lost at its first checkpoint."""
        for name, classes in self.dataset.attributes.items():
            if len(classes) > MAX_ITEMS:
                raise ValueError(
                    f"{self.dataset.name}: attribute {name!r} has {len(classes):,} classes (class subfolders, for an "
                    f"image folder); a checkpoint holds at most {MAX_ITEMS:,}"
                )
        summary = self._summary(finished=False)
        structure = {"format_version": FORMAT_VERSION, "model": self.model_config.to_dict()}
        for path, kind, metadata in (
            (self.run_dir / GENERATOR_FILE, GENERATOR_FORMAT, self._generator_metadata(summary)),
            (self.run_dir / STATE_FILE, TRAINING_STATE_FORMAT, self._state_metadata(summary)),
        ):
            try:
                metadata_text(path, {**metadata, **structure, "format": kind})  # the checks its reader applies
            except CheckpointError as error:
                raise ValueError(
                    f"cannot train into {self.run_dir}: its checkpoints would be refused when read back "
                    f"({error.problem.removeprefix('not written: ')})"
                ) from None

    def _run(self) -> Path:
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
                "device": devices.describe_device(self.device),
                "precision": self.precision,
                "dataset": self.dataset.name,
                "num_images": len(self.dataset),
            },
        )
        self._write_status("running")
        started = session_started = time.perf_counter()
        last_checkpoint = time.monotonic()
        last_status = -math.inf
        window = _StatsWindow()
        try:
            while self.step < config.steps:
                window.add(self._train_step())  # summed on the device: no host sync
                self.step += 1
                due = time.monotonic() - last_checkpoint > config.checkpoint_minutes * 60
                out_of_time = (
                    bool(config.max_minutes) and time.perf_counter() - session_started > config.max_minutes * 60
                )
                # Under torchrun every rank takes the same branches below: the stop and checkpoint decisions are
                # shared every step (a signal or a clock can reach one rank a step before another), as host flags.
                flags = distributed.any_flag(self.world, {"stop": self.stop_requested or out_of_time, "due": due})
                last = self.step == config.steps
                log = self.step % config.log_every == 0 or last
                sample = self.step % config.sample_every == 0 or last
                checkpoint = (self.step % config.checkpoint_every == 0 or flags["due"]) and not last
                stop = flags["stop"] or (self.stop_requested and not self.world.distributed)
                if log or sample or checkpoint or stop:  # the same on every rank: the read is a collective
                    means = self._read_window(window)  # the interval's one host sync, before anything is written
                if sample and self.world.is_main:
                    self._save_samples()  # before the stats line, which then carries its sample_diversity
                if log:
                    elapsed = self.elapsed_before + time.perf_counter() - started
                    stats = window.summary(self, elapsed, means)  # on every rank: each one's window starts again
                    if self.world.is_main:
                        self.last_stats = stats
                        if self.sample_diversity is not None:
                            self.last_stats["sample_diversity"], self.sample_diversity = self.sample_diversity, None
                        self._append_stats(self.last_stats)
                        self._emit("log", self.last_stats)
                        if time.monotonic() - last_status >= STATUS_SECONDS:
                            self._write_status("running")
                            last_status = time.monotonic()
                if checkpoint:
                    self.elapsed_before += time.perf_counter() - started
                    started = time.perf_counter()
                    self._checkpoint(finished=False)
                    last_checkpoint = time.monotonic()
                # A single process also stops for a request made during this step's logging; ranks stop together,
                # on the request all of them saw in the step's all-reduce.
                if flags["stop"] or (self.stop_requested and not self.world.distributed):
                    break
            if window.count:
                self._read_window(window)  # the steps since the last read, checked before the last grid and checkpoint
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
            with contextlib.suppress(OSError):  # a full disk refuses this too; the error itself says more
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
        if self.precision != "bf16":  # built only when on: torch 2.4 refuses even a disabled autocast on MPS
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _read_window(self, window: _StatsWindow) -> dict[str, float]:
        """The logging window's means so far, brought to the host (all ranks' means under torchrun): the loop's one
        host sync per interval. NaN weights make the next step's losses NaN, so this stops a run at the first read
        after it breaks, before the NaN reaches a stats line, a sample grid or a checkpoint. What the losses cannot
        show (a BatchNorm running statistic, an Adam moment) _checkpoint checks before each write."""
        means = window.means(self.world)
        bad = next((name for name, value in means.items() if not math.isfinite(value)), None)
        if bad is not None:
            raise TrainingDiverged(self.step, bad, self.checkpoint_step, self.run_dir)
        return means

    def _this_rank(self, draw) -> torch.Tensor:
        """This rank's slice of a global draw: ``draw(n)`` draws n rows for all ranks from the shared generator, so
        ranks see different data while the generator's state stays the same on every rank (exact resume)."""
        batch = self.config.batch_size
        rows = draw(batch * self.world.size)
        return rows[self.world.rank * batch : (self.world.rank + 1) * batch]

    def _noise(self) -> torch.Tensor:
        latent_dim = self.model_config.latent_dim
        return self._this_rank(lambda n: torch.randn(n, latent_dim, generator=self.rng, device=self.device))

    def _real_batch(self) -> torch.Tensor:
        index = self._this_rank(
            lambda n: torch.randint(len(self.dataset), (n,), generator=self.rng, device=self.device)
        )
        if self.training_images.images.device != index.device:
            index = index.cpu()  # a data set too big for the GPU is gathered in host memory (a host sync per step)
        return self.training_images.batch(index, self.device).contiguous(memory_format=self.memory_format)

    def instance_noise_std(self) -> float:
        """Instance noise (Sonderby et al. 2017) at the current step: config.instance_noise falling linearly to 0
        at instance_noise_steps (or at the run's last step).

        Real and generated images have (nearly) disjoint supports early on, where an optimal D separates them
        perfectly, JS sits at log 2 and G's gradient carries little. The same noise on both blurs the two
        distributions into overlap; annealing it returns the original game by the end."""
        horizon = self.config.instance_noise_steps or self.config.steps
        return max(self.config.instance_noise_floor, self.config.instance_noise * max(0.0, 1.0 - self.step / horizon))

    def _as_seen_by_d(self, images: torch.Tensor) -> torch.Tensor:
        """What D is shown of a batch: augmented (config.augment), then noised (instance noise)."""
        if self.config.augment != "none":
            images = augment(images, self.config.augment, self.rng).contiguous(memory_format=self.memory_format)
        return self._with_instance_noise(images)

    def _r1_penalty(self, real: torch.Tensor) -> torch.Tensor:
        """Lazy R1: (gamma / 2) E||grad_x D(x)||^2 on real images, times R1_EVERY since it is applied that rarely.
        Through the plain D (DDP does not support the double backward); its gradient accumulates with the real
        half's, and the fake half's backward averages them across ranks."""
        real = real.detach().requires_grad_(True)
        logits = self.discriminator(real).float()
        (gradient,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        return self.config.r1_gamma / 2 * gradient.square().sum(dim=(1, 2, 3)).mean() * R1_EVERY

    def _with_instance_noise(self, images: torch.Tensor) -> torch.Tensor:
        std = self.instance_noise_std()
        if std == 0:
            return images
        shape = images.shape[1:]
        noise = self._this_rank(lambda n: torch.randn(n, *shape, generator=self.rng, device=self.device))
        return images + std * noise.contiguous(memory_format=self.memory_format)

    def _train_step(self) -> dict:
        """k discriminator steps then one generator step; returns this step's measured quantities."""
        config = self.config
        for d_step in range(config.d_steps):
            real = self._as_seen_by_d(self._real_batch())
            noise = self._noise()
            last = d_step == config.d_steps - 1
            with torch.set_grad_enabled(last):  # the last fake batch is reused for G's step
                with self._autocast():
                    fake = self.generator_step(noise)
                fake = self._as_seen_by_d(fake)
            # D's two halves go backward one after the other, as pytorch/examples does: DDP averages gradients
            # once per backward, so the real half accumulates locally (no_sync) and the fake half's backward
            # averages their sum. The gradient is that of discriminator_loss either way.
            self.optimizer_d.zero_grad(set_to_none=True)
            with self._no_sync(self.discriminator_step):
                with self._autocast():
                    real_logits = self.discriminator_step(real).float()
                discriminator_real_loss(real_logits, config.label_smoothing).backward()
                if config.r1_gamma and self.step % R1_EVERY == 0 and last:
                    self._r1_penalty(real).backward()
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

        # V is measured on what D saw, so with instance noise it is the noised game's V. The numbers stay on the
        # device: run() sums them there and reads them once per logging interval.
        with torch.no_grad():
            return {
                "loss_d": loss_d,
                "loss_g": loss_g.detach(),
                "d_real": torch.sigmoid(real_logits).mean(),
                "d_fake": torch.sigmoid(fake_logits).mean(),
                "value": value_function(real_logits, fake_logits),
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
        with naming(self.run_dir / STATS_FILE), open(self.run_dir / STATS_FILE, "a") as handle:
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
            except (ValueError, RecursionError):
                continue  # a half-written last line from a killed run (or a foreign file's nested one)
            if isinstance(row, dict) and row.get("step", 0) <= self.step:
                kept.append(line if line.endswith("\n") else line + "\n")
        if kept != lines:
            with replacing(path) as temporary:
                temporary.write_text("".join(kept))

    def _save_samples(self) -> Path:
        images = generate(self.sampling_generator(), self.fixed_noise)
        path = self.run_dir / SAMPLES_DIR / f"step_{self.step:06d}.png"
        with replacing(path) as temporary:  # a follower never shows half a grid, and a full disk leaves none
            save_png(make_grid(images, columns=8), temporary)
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
            "device": devices.describe_device(self.device),
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
        # each write is atomic and, on a full disk, an OSError naming its file (checkpoint.write_atomically)
        save_training_state(
            self.run_dir / STATE_FILE,
            generator=self.generator,
            discriminator=self.discriminator,
            ema_generator=self.ema.model if self.ema else None,
            optimizer_g=self.optimizer_g,
            optimizer_d=self.optimizer_d,
            rng=self.rng,
            metadata=self._state_metadata(summary),
        )
        save_generator(path, sampling, self._generator_metadata(summary), discriminator=self.discriminator)
        self.checkpoint_step = self.step
        if self.config.keep_checkpoints:  # a run's best moment is often not its last: keep each one to compare
            kept = self.run_dir / KEPT_CHECKPOINTS_DIR / f"step_{self.step:06d}.safetensors"
            kept.parent.mkdir(exist_ok=True)
            with replacing(kept) as temporary:
                shutil.copyfile(path, temporary)
        self._emit("checkpoint", {"step": self.step, "path": str(path)})
        return path

    def _state_metadata(self, summary: dict) -> dict:
        return {"training": summary, "dataset": self.dataset.describe()}

    def _generator_metadata(self, summary: dict) -> dict:
        return {"dataset": self.dataset.describe(), "training": summary, "sample_seed": self.config.sample_seed}

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
        saved_rng = _SavedRandomState()
        metadata = load_training_state(
            self.run_dir / STATE_FILE,
            generator=self.generator,
            discriminator=self.discriminator,
            ema_generator=self.ema.model if self.ema else None,
            optimizer_g=self.optimizer_g,
            optimizer_d=self.optimizer_d,
            rng=saved_rng,
        )
        implementation = adam_implementation(self.config.adam, self.device)
        for optimizer in (self.optimizer_g, self.optimizer_d):
            lr = self.discriminator_lr if optimizer is self.optimizer_d else self.config.lr
            for group in optimizer.param_groups:  # the saved param_groups carry the saved lr and implementation
                group.update(lr=lr, **implementation)
            # Adam's moments come back from the file contiguous, and the weights are channels_last: the loop
            # implementation does not mind, but the fused kernel walks both in memory order, and a resumed run
            # then drifted from the straight one (tests/test_train.py: test_resume_is_exact).
            for param, values in optimizer.state.items():
                for key, value in values.items():
                    if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                        values[key] = torch.empty_like(param).copy_(value)
                # load_state_dict placed Adam's step counter by the file's settings: a run saved as loop or foreach
                # keeps it on the CPU, where the fused CUDA kernel refuses it (pytorch/pytorch#104767), and one saved
                # fused on a GPU keeps it there, where loop and foreach read it with a host sync per weight
                if torch.is_tensor(values.get("step")):
                    where = devices.adam_step_device(param.device, implementation["fused"])
                    values["step"] = values["step"].to(dtype=torch.float32, device=where)
        training = metadata.get("training")
        if not (isinstance(training, dict) and all(k in training for k in ("steps", "images_seen", "wall_seconds"))):
            raise CheckpointError(self.run_dir / STATE_FILE, "its metadata has no training summary to resume from")
        self.step = self.checkpoint_step = training["steps"]
        self._restore_random_stream(saved_rng.state, str(training.get("device", "")).split(" ")[0])
        self.images_seen = training["images_seen"]
        self.elapsed_before = training["wall_seconds"]
        self.last_stats = training.get("final_stats") or {}

    def _restore_random_stream(self, state: torch.Tensor, saved_on: str) -> None:
        """Continue the saved random stream where it stopped, if it was saved on this kind of device. A CPU and a
        GPU generator keep different states (a Mersenne Twister, a Philox counter), so a run resumed on the other
        kind draws from a new seed made of the run's seed and step: reproducible, but not what the first device
        would have drawn. It says so in one line."""
        if saved_on == self.device.type and state is not None and state.numel() == self.rng.get_state().numel():
            self.rng.set_state(state)
            return
        seed = np.random.SeedSequence([self.config.seed, self.step]).generate_state(1, np.uint64)[0]
        self.rng.manual_seed(int(seed))
        self.notes.append(
            f"the run's random stream was saved on {saved_on or 'another device'}; on {self.device.type} it goes on "
            f"from a new seed (seed {self.config.seed}, step {self.step}), so this is not bit-for-bit the run that "
            f"{saved_on or 'that device'} would have continued"
        )


class _SavedRandomState:
    """Receives the saved generator state from load_training_state, for Trainer._restore_random_stream to judge."""

    state: torch.Tensor | None = None

    def set_state(self, state: torch.Tensor) -> None:
        self.state = state


class _StatsWindow:
    """Averages the per-step quantities over one logging interval, so the curves are not single-batch noise. The
    sums stay on the training device; ``means`` brings them to the host, once per interval."""

    def __init__(self):
        self.names: list[str] = []
        self.totals: torch.Tensor | None = None
        self.count = 0
        self.window_started = time.perf_counter()
        self.images_at_start: int | None = None

    def add(self, values: dict[str, torch.Tensor]) -> None:
        step = torch.stack([value.float() for value in values.values()])
        step = step if step.device.type == "mps" else step.double()  # MPS has no float64
        self.names = list(values)
        self.totals = step if self.totals is None else self.totals + step
        self.count += 1

    def means(self, world: distributed.World) -> dict[str, float]:
        if self.totals is None:
            return {}
        totals = distributed.mean_over_ranks(world, self.totals)
        return dict(zip(self.names, (totals / self.count).tolist()))

    def summary(self, trainer: Trainer, elapsed: float, means: dict[str, float]) -> dict:
        now = time.perf_counter()
        seconds = max(now - self.window_started, 1e-9)
        images = trainer.images_seen - (
            self.images_at_start
            if self.images_at_start is not None
            else trainer.images_seen - self.count * trainer.config.batch_size * trainer.config.d_steps
        )
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
        self.totals, self.count, self.window_started, self.images_at_start = None, 0, now, trainer.images_seen
        return stats
