"""Command line: ``python -m ganlib train|sample|interpolate|info|export|evaluate|project|train-encoder|import-dcgan|
dashboard`` (also installed as ``ganlib``).

Every picture the dashboard shows can be reproduced here from its seeds, e.g.
``ganlib sample checkpoints/toonfaces32.safetensors --seed 40 --n 16 --out grid.png``.
"""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys
from pathlib import Path

from safetensors import SafetensorError

from . import dashboard_command, dcgan_import, distributed, project_command
from .cli_checks import check_range, not_an_input, output_file
from .config import TrainConfig, flag, resume_settings, settings
from .latent import MAX_SEED, TRUNCATION_RANGE
from .run_directory import load_json, named_os_error
from .threads import add_threads_option, apply_threads_option


def _add_train(commands) -> None:
    parser = commands.add_parser(
        "train",
        help="train a DCGAN and write a run directory",
        description="Train a DCGAN. Writes OUT/config.json, stats.jsonl, samples/*.png, generator.safetensors "
        "and state/ for --resume. Stop with Ctrl-C: it writes a checkpoint first.",
        epilog="examples:\n  python -m ganlib train --dataset toonfaces --image-size 32 --steps 3000 --out runs/faces32\n"
        "  python -m ganlib train --dataset ~/photos/cats --image-size 64 --out runs/cats\n"
        "  python -m ganlib train --resume runs/faces32 --steps 6000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR exactly where it stopped (optionally with more --steps, "
        f"and new values of {', '.join(flag(name) for name in resume_settings())})",
    )
    _add_setting_flags(parser)
    add_threads_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_train)


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, from its Setting. Every default is None, so that a flag the user gave
    can be told from one left out (--resume takes only what was given)."""
    for name, (field, spec) in settings().items():
        default = "" if field.default in ("", None) else f" (default {field.default})"
        if isinstance(field.default, bool):
            parser.add_argument(
                flag(name),
                dest=name,
                action="store_false" if field.default else "store_true",
                default=None,
                help=spec.help,
            )
            continue
        kind = {"int": int, "float": float, "str": str}[str(field.type)]
        parser.add_argument(
            flag(name),
            dest=name,
            type=kind,
            default=None,
            choices=spec.choices,
            help=spec.help + default.replace("%", "%%"),
        )


def _given_settings(args) -> dict:
    return {name: getattr(args, name) for name in settings() if getattr(args, name) is not None}


def train_config_from_args(args) -> TrainConfig:
    """The TrainConfig of a fresh run (no --resume): the flags given, the fields' defaults for the rest."""
    given = _given_settings(args)
    if "out" not in given:
        dataset = given.get("dataset", TrainConfig.dataset)
        label = Path(dataset).name if "/" in dataset else dataset
        given["out"] = f"runs/{label}-{given.get('image_size', TrainConfig.image_size)}px"
    return TrainConfig(**given)


def _resume_overrides(args) -> dict:
    """The settings a --resume changes; refuses flags that would break the exact continuation."""
    given = _given_settings(args)
    steps = given.pop("steps", None)
    fixed = sorted(set(given) - set(resume_settings()))
    if fixed:
        raise ValueError(f"{', '.join(flag(name) for name in fixed)} cannot change when a run resumes")
    return {"steps": steps, **given}


def _train(args) -> int:
    from .train import Trainer, TrainingDiverged

    apply_threads_option(args)

    # warnings go to stderr even with --quiet: the dashboard's runs log it to train.log
    callbacks = [_print_warning] if args.quiet else [_ProgressBar()]
    if args.resume:
        trainer = Trainer.resume(args.resume, callbacks=callbacks, **_resume_overrides(args))
    else:
        config = train_config_from_args(args)
        if (Path(config.out) / "state").exists():
            raise ValueError(
                f"{config.out} already holds a run; continue it with --resume {config.out}, or pick another --out"
            )
        trainer = Trainer(config, callbacks)
    main_process = trainer.world.is_main  # under torchrun, rank 0 speaks for the run
    notes = [*trainer.dataset.notes, *trainer.notes] if main_process else ()
    for note in notes:  # also with --quiet: runs keep them in train.log
        print(f"note: {note}", file=sys.stderr)
    # SIGTERM (the dashboard's Stop button) and Ctrl-C both end the run cleanly with a checkpoint. The handlers are
    # put back afterwards: they hold the trainer, which would otherwise live until the interpreter's last moments.
    previous_handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    for signum in previous_handlers:
        signal.signal(signum, lambda *_: trainer.request_stop())
    code = None  # set when the run ends on every rank at the same step; None after an error on this rank alone
    try:
        path = trainer.run()
        code = 0
    except TrainingDiverged as error:  # status.json says "diverged"; the exit status tells a script
        code = 3
        if main_process:
            print(f"error: {error}", file=sys.stderr)
    finally:
        for signum, handler in previous_handlers.items():
            if handler is not None:  # None: a handler installed outside Python, which signal cannot put back
                signal.signal(signum, handler)
        distributed.teardown(trainer.world, together=code is not None)
    if main_process and code == 0:
        world = f" on {trainer.world.size} processes" if trainer.world.distributed else ""
        print(f"wrote {path}  ({trainer.step} steps, {trainer.images_seen} images seen{world})")
    if trainer.world.distributed:
        distributed.exit_process(code)
    return code


def _print_warning(event: str, info: dict) -> None:
    if event == "warning":
        print(f"warning: {info['message']}", file=sys.stderr, flush=True)


class _ProgressBar:
    """tqdm bar driven by the Trainer's callbacks."""

    def __init__(self):
        self.bar = None

    def __call__(self, event: str, info: dict) -> None:
        from tqdm import tqdm

        if event == "start":
            print(
                f"training on {info['dataset']} ({info['num_images']} images), {info['device']}, {info['precision']}",
                file=sys.stderr,
            )
            self.bar = tqdm(total=info["steps"], initial=info["step"], unit="step", dynamic_ncols=True)
        elif event == "log" and self.bar is not None:
            self.bar.update(info["step"] - self.bar.n)
            self.bar.set_postfix(
                D_x=f"{info['d_real']:.2f}",
                D_G_z=f"{info['d_fake']:.2f}",
                loss_G=f"{info['loss_g']:.2f}",
                img_s=f"{info['images_per_second']:.0f}",
            )
        elif event == "warning":
            (self.bar.write if self.bar is not None else print)(f"warning: {info['message']}", file=sys.stderr)
        elif event in ("end", "diverged") and self.bar is not None:
            self.bar.close()


MAX_OUTPUT_PIXELS = 64_000_000  # a PNG or GIF frame larger than this is a typo (--scale 100000), not a picture
MAX_SCALE = 32


def _check_output_size(height: int, width: int, scale: int) -> None:
    check_range(scale, 1, MAX_SCALE, "--scale")
    if height * scale * width * scale > MAX_OUTPUT_PIXELS:
        raise ValueError(
            f"--scale {scale} makes a {width * scale:,} x {height * scale:,} image; at most "
            f"{MAX_OUTPUT_PIXELS // 1_000_000} megapixels"
        )


def _add_sample(commands) -> None:
    parser = commands.add_parser(
        "sample", help="write a grid of samples", description="Write a PNG grid of N samples; tile i has seed SEED + i."
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--n", type=int, default=16, help="number of samples (1-1024)")
    parser.add_argument("--seed", type=int, default=0, help=f"seed of the first tile (0-{MAX_SEED})")
    parser.add_argument(
        "--truncation",
        type=float,
        default=1.0,
        help=f"scale z toward the mean ({TRUNCATION_RANGE[0]:g}-{TRUNCATION_RANGE[1]:g}; 1 = off)",
    )
    parser.add_argument("--columns", type=int, default=None)
    parser.add_argument("--scale", type=int, default=1, help=f"nearest-neighbour upscaling factor (1-{MAX_SCALE})")
    parser.add_argument("--out", default="grid.png", help="a .png file")
    parser.set_defaults(handler=_sample)


def _sample(args) -> int:
    from .checkpoint import load_generator
    from .images import generate, make_grid, save_png, upscale
    from .latent import sample_latents, truncate

    check_range(args.n, 1, 1024, "--n")
    check_range(args.seed, 0, MAX_SEED - args.n + 1, "--seed")
    check_range(args.truncation, *TRUNCATION_RANGE, "--truncation")
    if args.columns is not None:
        check_range(args.columns, 1, args.n, "--columns")
    out = output_file(args.out, (".png",))
    generator = load_generator(args.checkpoint)
    z = truncate(sample_latents(args.n, generator.config.latent_dim, args.seed), args.truncation)
    grid = make_grid(generate(generator, z), columns=args.columns)
    _check_output_size(grid.shape[0], grid.shape[1], args.scale)
    print(f"wrote {save_png(upscale(grid, args.scale), out)}  (seeds {args.seed}..{args.seed + args.n - 1})")
    return 0


def _add_interpolate(commands) -> None:
    parser = commands.add_parser(
        "interpolate",
        help="write a walk between seeds as GIF or PNG strip",
        description="Walk through the latents of the given seeds in order.",
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="two to 64 seeds to pass through")
    parser.add_argument("--frames", type=int, default=16, help="frames in the whole walk (2-512)")
    parser.add_argument("--method", choices=("slerp", "lerp"), default="slerp")
    parser.add_argument("--scale", type=int, default=2, help=f"nearest-neighbour upscaling factor (1-{MAX_SCALE})")
    parser.add_argument("--frame-ms", type=int, default=80, help="GIF frame duration in milliseconds (20-10000)")
    parser.add_argument("--out", default="walk.gif", help="a .gif animation, or .png for a strip")
    parser.set_defaults(handler=_interpolate)


def _interpolate(args) -> int:
    from .checkpoint import load_generator
    from .images import generate, gif_bytes, make_grid, save_png, upscale
    from .latent import interpolation_path, latents_for_seeds

    check_range(len(args.seeds), 2, 64, "the number of --seeds")
    for seed in args.seeds:
        check_range(seed, 0, MAX_SEED, "--seeds")
    check_range(args.frames, 2, 512, "--frames")
    check_range(args.frame_ms, 20, 10_000, "--frame-ms")
    out = output_file(args.out, (".gif", ".png"))
    generator = load_generator(args.checkpoint)
    size = generator.config.image_size
    if out.suffix.lower() == ".gif":
        _check_output_size(size, size, args.scale)
    else:
        _check_output_size(size + 4, (size + 2) * args.frames + 2, args.scale)
    path = interpolation_path(latents_for_seeds(args.seeds, generator.config.latent_dim), args.frames, args.method)
    frames = upscale(generate(generator, path), args.scale)
    if out.suffix.lower() == ".gif":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gif_bytes(frames, frame_ms=args.frame_ms))
    else:
        save_png(make_grid(frames, columns=len(frames)), out)
    print(f"wrote {out}  ({args.frames} frames, {args.method}, seeds {' '.join(map(str, args.seeds))})")
    return 0


def _add_info(commands) -> None:
    parser = commands.add_parser(
        "info", help="print a checkpoint's metadata", description="Print what a checkpoint says about itself."
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--json", action="store_true", help="print the raw JSON metadata")
    parser.set_defaults(handler=_info)


def _info(args) -> int:
    from .checkpoint import GENERATOR_FORMAT, TRAINING_STATE_FORMAT, CheckpointError, read_metadata
    from .classifier import CLASSIFIER_FORMAT
    from .encoder import ENCODER_FORMAT

    metadata = read_metadata(args.checkpoint)  # any problem: one line naming the file
    kind = metadata["format"]
    if args.json:
        text = json.dumps(metadata, indent=2)
    elif kind in (GENERATOR_FORMAT, TRAINING_STATE_FORMAT):
        text = "\n".join(format_model_card(metadata))
    elif kind in (ENCODER_FORMAT, CLASSIFIER_FORMAT):  # ganlib's other files: say what they are and who reads them
        what = "an encoder, for `project`" if kind == ENCODER_FORMAT else "an attribute classifier, for `evaluate`"
        text = f"{Path(args.checkpoint).name}: {what} (format {kind!r}), not a generator; --json prints its metadata"
    else:
        raise CheckpointError(
            args.checkpoint, f"a safetensors file, but not a ganlib generator checkpoint (format {kind[:60]!r})"
        )
    print(_for_terminal(text))  # built whole first: a card is printed entirely or not at all
    return 0


def _for_terminal(text: str) -> str:
    """``text`` as stdout's encoding can write it: what it cannot (an ASCII-only terminal) becomes an escape."""
    encoding = sys.stdout.encoding or "utf-8"
    return text.encode(encoding, errors="backslashreplace").decode(encoding)


def _attribute_summary(attributes: dict) -> str:
    return ", ".join(f"{name}: {'/'.join(classes)}" for name, classes in attributes.items()) or "-"


def format_model_card(metadata: dict) -> list[str]:
    model, dataset, training = metadata.get("model", {}), metadata.get("dataset", {}), metadata.get("training", {})
    stats = training.get("final_stats") or {}
    lines = [
        f"format        {metadata.get('format')} v{metadata.get('format_version')} (ganlib {metadata.get('ganlib_version')})",
        f"data set      {dataset.get('name')} ({dataset.get('num_images')} images)",
        f"attributes    {_attribute_summary(dataset.get('attributes', {}))}",
        f"architecture  DCGAN {model.get('image_size')} px, {model.get('channels')} channels, latent dim {model.get('latent_dim')}, "
        f"widths G {model.get('generator_width')} / D {model.get('discriminator_width')}",
        f"weights       {metadata.get('dtype')}, discriminator {'included' if metadata.get('has_discriminator') else 'not included'}",
        f"training      {training.get('steps')} steps, {training.get('images_seen')} images, {training.get('wall_seconds')} s "
        f"on {training.get('device')} ({training.get('precision')}), {'finished' if training.get('finished') else 'not finished'}",
    ]
    if stats:
        lines.append(
            f"final stats   D(x) {stats.get('d_real', float('nan')):.3f}  D(G(z)) {stats.get('d_fake', float('nan')):.3f}  "
            f"V {stats.get('value', float('nan')):.3f}  JSD estimate {stats.get('js_estimate', float('nan')):.3f}"
        )
    lines += [f"sample seed   {metadata.get('sample_seed')}", f"created       {metadata.get('created')}"]
    if metadata.get("notes"):
        lines.append("notes         " + metadata["notes"].replace("\n", "\n" + " " * 14))  # lines under the first
    return lines


def _add_export(commands) -> None:
    parser = commands.add_parser(
        "export",
        help="write a compact copy of a generator file (for bundling/sharing)",
        description="Copy a generator file, optionally as fp16 and without the discriminator, "
        "keeping all metadata and adding notes.",
    )
    parser.add_argument("checkpoint")
    parser.add_argument("--out", required=True)
    parser.add_argument("--half", action="store_true", help="store weights as fp16 (half the size)")
    parser.add_argument("--no-discriminator", action="store_true", help="drop D (the dashboard then shows no D scores)")
    parser.add_argument("--notes", default=None, help="free text stored in the metadata (shown on the model card)")
    parser.set_defaults(handler=_export)


def _export(args) -> int:
    from .checkpoint import descriptive_metadata, load_discriminator, load_generator, save_generator
    from .checkpoint_schema import check_text

    out = output_file(args.out, (".safetensors",))
    not_an_input(out, [args.checkpoint])
    if args.notes is not None:  # before any work; save_generator checks the whole metadata again before writing
        check_text(args.notes, "--notes")
    generator = load_generator(args.checkpoint)
    discriminator = None if args.no_discriminator else load_discriminator(args.checkpoint)
    metadata = descriptive_metadata(generator.metadata)
    if args.notes is not None:
        metadata["notes"] = args.notes
    path = save_generator(out, generator, metadata, discriminator=discriminator, half=args.half)
    print(f"wrote {path}  ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


def _add_evaluate(commands) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="measure sample quality and latent arithmetic",
        description="Fréchet distance to real images, attribute frequencies, and how well adding/removing each "
        "attribute works (three direction methods, a strength sweep, a random baseline, conditional "
        "and per-face edits), direction cosines, and SeFa/GANSpace directions. Takes minutes: "
        "G and the judge see about 100 x N images.",
        epilog="example:\n  OMP_NUM_THREADS=1 python -m ganlib evaluate checkpoints/toonfaces32.safetensors --n 2000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", nargs="?", help="the checkpoint to measure (not needed with --from-json)")
    parser.add_argument(
        "--n", type=int, default=2000, help="generated images per measurement (32-100000, default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="moves every seed set used (default %(default)s)")
    parser.add_argument(
        "--strength", type=float, default=1.5, help="edit strength in class-mean distances (default %(default)s)"
    )
    parser.add_argument("--data", default=None, help="real images to compare with (default: the checkpoint's data set)")
    parser.add_argument(
        "--classifier",
        default=None,
        metavar="FILE",
        help="judge with this attribute classifier file (python -m ganlib.classifier writes one) "
        "instead of the bundled one",
    )
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="only FD and attribute frequencies (seconds, not minutes): rank a run's --keep-checkpoints",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the targets table, as in the README (from this run, or from --from-json)",
    )
    parser.add_argument(
        "--from-json",
        default=None,
        metavar="FILE",
        help="format a report saved by --out or --json instead of measuring again",
    )
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    parser.add_argument(
        "--write-metadata",
        action="store_true",
        help="store a summary in the checkpoint's metadata (shown on the dashboard's model card)",
    )
    add_threads_option(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args) -> int:
    from .evaluation import evaluate, format_report, markdown_table, write_evaluation_metadata

    if not 32 <= args.n <= 100000:
        raise ValueError("--n must be from 32 to 100000")
    apply_threads_option(args)
    if args.from_json is None and args.checkpoint is None:
        raise ValueError("name a checkpoint to measure, or a saved report with --from-json")
    if args.from_json:
        report = _read_report(args.from_json)
    else:
        log = None if args.quiet else (lambda message: print(f"evaluate: {message}", file=sys.stderr, flush=True))
        report = evaluate(
            args.checkpoint,
            n=args.n,
            seed=args.seed,
            strength=args.strength,
            data=args.data,
            classifier=args.classifier,
            log=log,
            quality_only=args.quality_only,
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
    try:
        if args.markdown:
            text = markdown_table(report)
        else:
            text = json.dumps(report, indent=2) if args.json else "\n".join(format_report(report))
    except (KeyError, TypeError, AttributeError, ValueError) as error:  # a hand-edited or partial report
        raise ValueError(f"the report lacks what the summary needs ({type(error).__name__}: {error})") from None
    print(text)
    if args.write_metadata and args.checkpoint:
        path = write_evaluation_metadata(args.checkpoint, report)
        print(f"stored the summary in {path}'s metadata", file=sys.stderr)
    return 0


def _read_report(path: str) -> dict:
    """A report that ``evaluate --out`` or ``--json`` wrote: one line for anything else (load_json bounds its size
    and depth, so /dev/zero or a deeply nested file is refused at once)."""
    report = load_json(path)
    if not isinstance(report, dict) or not isinstance(report.get("meta"), dict) or "fd" not in report:
        raise ValueError(f"{path} is JSON, but not a report that ganlib evaluate wrote (no 'meta' and 'fd')")
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganlib", description="Train DCGANs and explore their latent space.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_train,
        _add_sample,
        _add_interpolate,
        _add_info,
        _add_export,
        _add_evaluate,
        project_command.add_project,
        project_command.add_train_encoder,
        dcgan_import.add_command,
        dashboard_command.add_command,
    ):
        add(commands)
    return parser


# Errors that only writing raises: when one names no file (a full disk shows when data is flushed), the file being
# written is the command's --out, as every file a command writes elsewhere goes through run_directory.naming
WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def _os_error_line(error: OSError | SafetensorError, out: str | None) -> str:
    if out and (isinstance(error, SafetensorError) or error.errno in WRITE_ERRORS):
        error = named_os_error(error, out)
    elif isinstance(error, SafetensorError):
        error = named_os_error(error, "a safetensors file")
    name = str(error.filename) if error.filename is not None else ""
    if len(name) > 100:  # a name too long for the file system (errno 36) must not become a page of text
        name = f"{name[:60]}…{name[-20:]} ({len(name):,} characters)"
    return f"{error.strerror or error}{f': {name}' if name else ''}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:  # CheckpointError, DatasetError and config validation are all ValueErrors
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, SafetensorError) as error:  # a folder that cannot be written, a full disk: one line
        print(f"error: {_os_error_line(error, getattr(args, 'out', None))}", file=sys.stderr)
        return 2
