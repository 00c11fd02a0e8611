"""TrainConfig is the one declaration of every training setting: the CLI, runs' argv and the form derive from it."""

from __future__ import annotations

import dataclasses
import math

import pytest

from ganlib import config
from ganlib.cli import build_parser, train_config_from_args
from ganlib.config import TrainConfig

# Settings the dashboard's training form leaves out on purpose: where the run goes is the panel's choice, and the
# rest are expert or machine settings that a class trying a short run does not need.
HIDDEN_FROM_FORM = {
    "out",
    "deterministic",
    "max_minutes",
    "latent_dim",
    "generator_width",
    "discriminator_width",
    "beta1",
    "beta2",
    "adam",
    "instance_noise_steps",
    "instance_noise_floor",
    "discriminator_lr",
    "r1_gamma",
    "augment",
    "ema",
    "ema_decay",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "checkpoint_minutes",
    "keep_checkpoints",
    "seed",
    "sample_seed",
    "device",
    "precision",
    "data_root",
    "num_images",
}


def _train_parser():
    parser = build_parser()
    return next(action for action in parser._subparsers._group_actions).choices["train"]


def test_every_setting_has_a_cli_flag_and_a_form_control_or_is_hidden_on_purpose():
    flags = {option for action in _train_parser()._actions for option in action.option_strings}
    for name, (field, spec) in config.settings().items():
        assert config.flag(name) in flags, name
        assert spec.help, name
        assert (spec.label is not None) != (name in HIDDEN_FROM_FORM), f"{name}: in the form, or listed as hidden"
        assert not config.validate_setting(name, field.default), f"{name}'s default breaks its own bounds"


def test_form_renders_exactly_the_labelled_settings(monkeypatch):
    from dashboard import training_panel

    assert set(training_panel._form_settings()) | {"dataset"} == set(config.settings()) - HIDDEN_FROM_FORM


def test_argv_round_trips_every_non_default_value():
    changed = TrainConfig(
        dataset="digits",
        out="runs/x",
        image_size=32,
        steps=7,
        batch_size=16,
        lr=3e-4,
        beta1=0.4,
        loss="minimax",
        d_steps=2,
        label_smoothing=0.1,
        instance_noise=0.05,
        instance_noise_steps=5,
        instance_noise_floor=0.01,
        discriminator_lr=1e-4,
        r1_gamma=0.5,
        augment="translation",
        ema=False,
        ema_decay=0.99,
        keep_checkpoints=True,
        seed=3,
        precision="fp32",
        num_images=100,
    )
    argv = config.to_argv(changed)
    assert "--no-ema" in argv and "--keep-checkpoints" in argv and "--image-size" in argv
    assert train_config_from_args(build_parser().parse_args(["train", *argv])) == changed


def test_cli_defaults_are_the_config_defaults_and_out_is_derived():
    built = train_config_from_args(build_parser().parse_args(["train"]))
    assert built == dataclasses.replace(TrainConfig(), out="runs/toonfaces-64px")


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("steps", 0, "steps must be from 1 to 10,000,000, got 0"),
        ("steps", True, "steps must be an integer"),
        ("lr", 0.0, "lr must be in (0, 0.1]"),
        ("lr", math.nan, "lr must be a finite number"),
        ("beta1", 1.0, "beta1 must be in [0, 1)"),
        ("loss", "wasserstein", "loss must be one of non-saturating, minimax"),
        ("image_size", 48, "image_size must be one of 32, 64, 128"),
        ("ema", 1, "ema must be true or false"),
        ("dataset", " ", "dataset must be a non-empty string"),
    ],
)
def test_one_validation_gives_one_message_everywhere(name, value, words, capsys):
    assert words in config.validate_setting(name, value)
    with pytest.raises(ValueError, match="^" + words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        TrainConfig(**{name: value})


def test_cli_shows_the_config_message(capsys):
    from ganlib.cli import main

    assert main(["train", "--instance-noise", "3", "--quiet"]) == 2
    assert "instance_noise must be from 0 to 2, got 3.0" in capsys.readouterr().err


def test_resume_refuses_settings_that_would_break_exact_continuation(tmp_path, capsys):
    from ganlib.cli import main

    assert main(["train", "--resume", str(tmp_path), "--batch-size", "32", "--quiet"]) == 2
    assert "--batch-size cannot change when a run resumes" in capsys.readouterr().err


def test_integers_are_accepted_where_floats_are_declared():
    built = TrainConfig(checkpoint_minutes=2, instance_noise=0)
    assert isinstance(built.instance_noise, float) and isinstance(built.to_dict()["checkpoint_minutes"], float)


# ------------------------------------------------------------------ the memory bound (issue 20, cause I)
@pytest.mark.parametrize(
    "size, channels, latent, g_width, d_width",
    [(32, 1, 8, 8, 8), (64, 3, 100, 48, 32), (128, 3, 4096, 1024, 1024), (128, 1, 7, 5, 9)],
)
def test_the_memory_estimate_counts_what_the_models_build(size, channels, latent, g_width, d_width):
    import torch

    from ganlib.models import Discriminator, Generator

    model = config.ModelConfig(size, channels, latent, g_width, d_width)
    with torch.device("meta"):  # shapes only: the largest pair would take 16 GB
        generator, discriminator = Generator(model), Discriminator(model)
    counts = tuple(sum(p.numel() for p in module.parameters()) for module in (generator, discriminator))
    assert config.parameter_counts(model) == counts
    outputs = []  # G's hidden layers (at their BatchNorm) and D's (at their convolution), then the image twice
    hidden = [m for m in generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    hidden += [m for m in discriminator.features.modules() if isinstance(m, torch.nn.Conv2d)]
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o[0].numel())) for m in hidden]
    with torch.device("meta"):
        discriminator(generator(torch.zeros(1, latent)))
    for hook in hooks:
        hook.remove()
    assert config.activations_per_image(model) == sum(outputs) + 2 * channels * size * size


def test_a_run_larger_than_the_machine_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(config, "machine_memory_bytes", lambda: 24 << 30, raising=False)
    for settings in (
        dict(image_size=128, latent_dim=4096, generator_width=1024, discriminator_width=1024),  # ~70 GiB with Adam
        dict(image_size=128, batch_size=4096),
        dict(dataset="toonfaces", num_images=10_000_000, image_size=128),  # 491 GB of rendered faces
    ):
        with pytest.raises(ValueError, match=r"^this run needs about .* GiB of memory .* this machine's 24\.0 GiB"):
            TrainConfig(**settings)
    TrainConfig()
    TrainConfig(image_size=64, generator_width=48, discriminator_width=32, batch_size=256, num_images=100_000)
    TrainConfig(image_size=128, batch_size=1024)  # about 10 GiB: a big machine's run, not refused
    monkeypatch.setattr(config, "machine_memory_bytes", lambda: None)  # unknown: nothing to hold it against
    TrainConfig(image_size=128, batch_size=4096)


def test_the_machine_memory_is_the_cgroup_limit_where_lower(monkeypatch, tmp_path):
    physical = config.machine_memory_bytes()
    assert physical is not None and physical > 1 << 28
    limit = tmp_path / "memory.max"
    real_path = config.Path
    monkeypatch.setattr(
        config, "Path", lambda name: limit if name == "/sys/fs/cgroup/memory.max" else real_path("/nonexistent")
    )
    limit.write_text("max\n")
    assert config.machine_memory_bytes() == os_physical()
    limit.write_text(f"{1 << 30}\n")
    assert config.machine_memory_bytes() == 1 << 30


def os_physical() -> int:
    import os

    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
