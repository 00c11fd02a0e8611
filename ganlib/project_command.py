"""``ganlib project`` and ``ganlib train-encoder``: your own pictures in a model's latent space, from the shell.

    python -m ganlib train-encoder checkpoints/faces.safetensors            # once: faces.encoder.safetensors
    python -m ganlib project checkpoints/faces.safetensors me.png --out z.npy --grid recon.png

``project`` writes the latents as a float32 ``.npy`` [N, latent_dim] (np.load reads it without pickle), and with
``--grid`` a PNG of each input beside its reconstruction. The encoder beside the checkpoint, when there is one,
gives the optimisation its start, which lets it take fewer steps and restarts (ganlib.inversion).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .cli_checks import check_range, output_file
from .latent import MAX_SEED
from .threads import add_threads_option, apply_threads_option

# (restarts, steps) by default, with and without an encoder: see the README's inversion table for what each buys
WITH_ENCODER = (2, 150)
WITHOUT_ENCODER = (8, 200)
MAX_IMAGES = 1024


def add_project(commands) -> None:
    parser = commands.add_parser(
        "project",
        help="find the latents of your own images (GAN inversion)",
        description="Optimise z so that G(z) matches each image (any size or mode: centre-cropped and resized to "
        "the model's), with a perceptual term from the attribute classifier or D where there is one, and a prior "
        "on |z|. Starts from the encoder beside the checkpoint (ganlib train-encoder) when there is one.",
        epilog="example:\n  python -m ganlib project checkpoints/toonfaces64.safetensors face.png --out z.npy "
        "--grid recon.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, ... files")
    parser.add_argument("--out", required=True, help="the latents, a .npy file [N, latent_dim]")
    parser.add_argument("--grid", default=None, help="also write each input beside its reconstruction (.png)")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"Adam steps (default {WITH_ENCODER[1]} with an encoder, else {WITHOUT_ENCODER[1]})",
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=None,
        help=f"starts per image (default {WITH_ENCODER[0]} with an encoder, else {WITHOUT_ENCODER[0]})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts (default %(default)s)")
    parser.add_argument(
        "--encoder",
        default="auto",
        help="an encoder file, 'none', or 'auto' (default): CHECKPOINT's .encoder.safetensors if it is there",
    )
    add_threads_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_project)


def _encoder(choice: str, checkpoint: str, generator):
    from .encoder import find_encoder, load_encoder

    if choice == "none":
        return None
    return find_encoder(checkpoint, generator) if choice == "auto" else load_encoder(choice, generator)


def _project(args) -> int:
    from tqdm import tqdm

    from .checkpoint import load_discriminator, load_generator
    from .classifier import load_bundled_classifier
    from .image_files import read_images
    from .images import make_grid, save_png
    from .inversion import NonFiniteProjection, project

    apply_threads_option(args)
    if len(args.images) > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} images at a time, got {len(args.images)}")
    out = output_file(args.out, (".npy",))
    grid = None if args.grid is None else output_file(args.grid, (".png",), "--grid")
    generator = load_generator(args.checkpoint)
    config = generator.config
    images = read_images(args.images, config.image_size, config.channels)  # every file checked before any work
    encoder = _encoder(args.encoder, args.checkpoint, generator)
    restarts, steps = WITH_ENCODER if encoder is not None else WITHOUT_ENCODER
    restarts = restarts if args.restarts is None else args.restarts
    steps = steps if args.steps is None else args.steps
    check_range(steps, 1, 100_000, "--steps")
    check_range(restarts, 1, 256, "--restarts")
    check_range(args.seed, 0, MAX_SEED, "--seed")
    classifier = load_bundled_classifier((generator.metadata.get("dataset") or {}).get("name", ""))
    discriminator = None if classifier is not None else load_discriminator(args.checkpoint)
    bar = None if args.quiet else tqdm(total=1, unit="step", dynamic_ncols=True, desc="projecting")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = project(
            generator,
            images,
            steps=steps,
            restarts=restarts,
            seed=args.seed,
            encoder=encoder,
            classifier=classifier,
            discriminator=discriminator,
            progress=progress if bar is not None else None,
        )
    except NonFiniteProjection as error:  # nothing is written: a .npy of NaN would only fail later, elsewhere
        raise ValueError(
            f"{args.images[error.rows[0]]}: its projection into {Path(args.checkpoint).name} ended at NaN or infinite "
            "latents (the generator's images or gradients are not finite there); nothing written"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, result.latents.numpy().astype(np.float32), allow_pickle=False)
    for name, value in zip(args.images, result.psnr):
        print(f"{name}: PSNR {value:.1f} dB")
    if grid is not None:
        targets = result.targets if result.targets.shape[-1] == 3 else result.targets.repeat(3, axis=-1)
        pairs = np.stack([targets, result.reconstructions], axis=1).reshape(-1, *targets.shape[1:])
        save_png(make_grid(pairs, columns=2 * min(len(targets), 4)), grid)
    start = "from the encoder" if encoder is not None else "from random starts"
    print(
        f"wrote {out}  ({len(images)} latents, {restarts} starts x {steps} steps {start}, perceptual term: "
        f"{result.perceptual}, {result.seconds:.1f} s)" + (f" and {grid}" if grid else "")
    )
    return 0


def add_train_encoder(commands) -> None:
    parser = commands.add_parser(
        "train-encoder",
        help="train the encoder that makes `project` faster, on the generator's own samples",
        description="Train a small convolutional encoder E(x) -> z on pairs (G(z), z) and write it beside the "
        "checkpoint (NAME.encoder.safetensors), where `project` and the dashboard find it.",
        epilog="example:\n  python -m ganlib train-encoder checkpoints/toonfaces64.safetensors --threads 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--out", default=None, help="where to write it (default: beside the checkpoint)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="default %(default)s")
    parser.add_argument(
        "--samples", type=int, default=20000, help="generated images to learn from (default %(default)s)"
    )
    parser.add_argument("--width", type=int, default=16, help="the encoder's base channel count (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default %(default)s")
    add_threads_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_train_encoder)


def _train_encoder(args) -> int:
    from tqdm import tqdm

    from .checkpoint import load_generator
    from .encoder import encoder_path, save_encoder, train_encoder

    apply_threads_option(args)
    for value, low, high, flag in (
        (args.steps, 1, 1_000_000, "--steps"),
        (args.batch_size, 1, 4096, "--batch-size"),
        (args.samples, 1, 1_000_000, "--samples"),
        (args.width, 4, 256, "--width"),
        (args.seed, 0, 2**31 - 1, "--seed"),
    ):
        check_range(value, low, high, flag)
    out = encoder_path(args.checkpoint) if args.out is None else output_file(args.out, (".safetensors",))
    generator = load_generator(args.checkpoint)
    if not args.quiet:
        print(f"drawing {args.samples:,} samples from the generator to learn from", file=sys.stderr, flush=True)
    bar = None if args.quiet else tqdm(total=args.steps, unit="step", dynamic_ncols=True, desc="training encoder")

    def progress(step: int, steps: int, loss: float) -> None:
        bar.update(step - bar.n)
        if step % 20 == 0 or step == steps:
            bar.set_postfix(loss=f"{loss:.3f}")

    try:
        encoder, report = train_encoder(
            generator,
            steps=args.steps,
            batch_size=args.batch_size,
            samples=args.samples,
            width=args.width,
            seed=args.seed,
            progress=progress if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    path = save_encoder(out, encoder, generator, report)
    print(
        f"wrote {path}  ({path.stat().st_size / 2**20:.1f} MB, {report['seconds']:.0f} s; held-out error "
        f"{report['held_out_loss']:.3f} per latent coordinate, where guessing 0 scores 1)"
    )
    return 0
