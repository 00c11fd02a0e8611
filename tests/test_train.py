import json

import pytest
import torch
from conftest import TINY_TRAINING, random_dataset

import ganlib
from ganlib.config import TrainConfig
from ganlib.train import Trainer, TrainingDiverged

TINY = TINY_TRAINING  # a run that trains in a fraction of a second


def test_discriminator_learns_to_separate_real_from_fake(tmp_path):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), **TINY))
    for _ in range(15):  # D-only steps: G is frozen
        real = trainer._real_batch()
        fake = trainer.generator(trainer._noise()).detach()
        loss = ganlib.discriminator_loss(trainer.discriminator(real), trainer.discriminator(fake))
        trainer.optimizer_d.zero_grad()
        loss.backward()
        trainer.optimizer_d.step()
    with torch.no_grad():  # train mode: D is trained, and judges, on separate real and fake batches
        d_real = trainer.discriminator.probability(trainer._real_batch()).mean()
        d_fake = trainer.discriminator.probability(trainer.generator(trainer._noise())).mean()
    assert d_real > d_fake + 0.2


def test_run_directory_and_stats(tmp_path):
    out = tmp_path / "run"
    events = []
    path = Trainer(TrainConfig(out=str(out), steps=6, **TINY), callbacks=[lambda e, i: events.append(e)]).run()
    assert path == out / "generator.safetensors" and (out / "state" / "training_state.safetensors").is_file()
    assert json.loads((out / "config.json").read_text())["train"]["steps"] == 6
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    lines = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4, 6]
    for key in (
        "epoch",
        "images_seen",
        "elapsed",
        "images_per_second",
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "value",
        "js_estimate",
    ):
        assert key in lines[-1]
    assert lines[-1]["value"] == pytest.approx(-lines[-1]["loss_d"])
    assert lines[-1]["js_estimate"] == pytest.approx(ganlib.js_divergence_estimate(lines[-1]["value"]), abs=1e-5)
    assert list((out / "samples").glob("*.png")) and events[0] == "start" and events[-1] == "end"
    metadata = ganlib.read_metadata(path)
    assert metadata["dataset"]["name"] == "digits" and metadata["training"]["steps"] == 6
    assert metadata["training"]["finished"] and metadata["has_discriminator"]


def _state(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / "state" / "training_state.safetensors"))


def test_resume_is_exact(tmp_path):
    # the default instance noise with its end named: an extended run otherwise keeps its own, shorter schedule
    Trainer(TrainConfig(out=str(tmp_path / "once"), steps=10, d_steps=2, instance_noise_steps=10, **TINY)).run()
    Trainer(TrainConfig(out=str(tmp_path / "twice"), steps=5, d_steps=2, instance_noise_steps=10, **TINY)).run()
    resumed = Trainer.resume(tmp_path / "twice", steps=10)
    assert resumed.step == 5
    resumed.run()
    once, twice = _state(tmp_path / "once"), _state(tmp_path / "twice")
    weights = [k for k in once if k.split(".")[0] in ("generator", "discriminator", "ema")]
    assert weights and all(torch.equal(once[k], twice[k]) for k in weights)
    assert torch.equal(once["rng.batches"], twice["rng.batches"])


@pytest.mark.parametrize("implementation", ["fused", "foreach"])
def test_every_adam_implementation_trains_the_same_model(tmp_path, implementation):
    """--adam changes the speed, not the maths: the same run with the one-tensor-at-a-time loop of pytorch/examples
    ends within float rounding (7e-9 here; a moment misaligned with its weight would be off by about lr, 1e-4)."""
    for name in ("loop", implementation):
        Trainer(TrainConfig(out=str(tmp_path / name), steps=6, d_steps=2, adam=name, **TINY)).run()
    loop, other = _state(tmp_path / "loop"), _state(tmp_path / implementation)
    weights = [k for k in loop if k.split(".")[0] in ("generator", "discriminator") and loop[k].is_floating_point()]
    assert weights and max((loop[k] - other[k]).abs().max().item() for k in weights) < 1e-6


def test_resume_with_a_new_ema_decay_changes_only_the_average(tmp_path):
    Trainer(TrainConfig(out=str(tmp_path / "same"), steps=4, **TINY)).run()
    Trainer(TrainConfig(out=str(tmp_path / "shorter"), steps=4, **TINY)).run()
    Trainer.resume(tmp_path / "same", steps=8).run()
    shorter = Trainer.resume(
        tmp_path / "shorter", steps=8, ema_decay=0.1
    )  # below the warm-up decay (t+1)/(t+10), so it takes effect at once
    assert shorter.ema.decay == 0.1
    shorter.run()
    assert json.loads((tmp_path / "shorter" / "config.json").read_text())["train"]["ema_decay"] == 0.1
    same, changed = _state(tmp_path / "same"), _state(tmp_path / "shorter")
    raw = [k for k in same if k.split(".")[0] in ("generator", "discriminator")]
    assert raw and all(torch.equal(same[k], changed[k]) for k in raw)
    averaged = [k for k in same if k.startswith("ema.") and same[k].is_floating_point()]
    assert any(not torch.equal(same[k], changed[k]) for k in averaged)


def test_stop_request_writes_a_checkpoint(tmp_path):
    trainer = Trainer(
        TrainConfig(out=str(tmp_path / "run"), steps=1000, **TINY),
        callbacks=[lambda e, i: trainer.request_stop() if e == "log" else None],
    )
    trainer.run()
    assert trainer.step == 2
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "stopped"
    assert not ganlib.read_metadata(tmp_path / "run" / "generator.safetensors")["training"]["finished"]


def test_minimax_loss_and_no_ema_and_injected_data(tmp_path):
    config = TrainConfig(out=str(tmp_path / "run"), steps=2, loss="minimax", ema=False, **{**TINY, "dataset": "random"})
    path = Trainer(config, dataset=random_dataset()).run()
    assert ganlib.load_generator(path).config.channels == 3


@pytest.mark.parametrize(
    "field, value",
    [
        ("batch_size", 1),
        ("lr", -1.0),
        ("loss", "hinge"),
        ("d_steps", 0),
        ("steps", 0),
        ("device", "tpu"),
        ("image_size", 100),
        ("latent_dim", 0),
        ("label_smoothing", 0.5),
        ("label_smoothing", -0.1),
        ("instance_noise", -1.0),
        ("instance_noise", 3.0),
    ],
)
def test_nonsense_hyperparameters_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_resume_of_a_missing_run(tmp_path):
    with pytest.raises(ValueError, match="run directory"):
        Trainer.resume(tmp_path / "nothing")


def test_keep_checkpoints_keeps_every_one_and_resume_can_turn_it_on(tmp_path):
    out = tmp_path / "run"
    Trainer(TrainConfig(out=str(out), steps=4, checkpoint_every=2, keep_checkpoints=True, **TINY)).run()
    kept = sorted(p.name for p in (out / "checkpoints").glob("*.safetensors"))
    assert kept == ["step_000002.safetensors", "step_000004.safetensors"]
    assert ganlib.read_metadata(out / "checkpoints" / kept[0])["training"]["steps"] == 2
    Trainer(TrainConfig(out=str(tmp_path / "plain"), steps=2, **TINY)).run()
    assert not (tmp_path / "plain" / "checkpoints").exists()
    Trainer.resume(tmp_path / "plain", steps=3, keep_checkpoints=True).run()
    assert [p.name for p in (tmp_path / "plain" / "checkpoints").glob("*")] == ["step_000003.safetensors"]


def test_training_uses_channels_last_on_cpu_and_its_checkpoint_loads_as_usual(tmp_path):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), steps=1, **TINY))
    first_conv = trainer.discriminator.features[0].weight
    assert first_conv.is_contiguous(memory_format=torch.channels_last)
    path = trainer.run()
    loaded = ganlib.load_generator(path)  # a contiguous model; the weights are the saved EMA's
    assert next(loaded.parameters()).is_contiguous()


def test_resume_with_a_new_learning_rate_uses_it_and_records_when(tmp_path):
    Trainer(TrainConfig(out=str(tmp_path / "run"), steps=4, **TINY)).run()
    resumed = Trainer.resume(tmp_path / "run", steps=6, lr=1e-4)
    assert all(group["lr"] == 1e-4 for opt in (resumed.optimizer_g, resumed.optimizer_d) for group in opt.param_groups)
    resumed.run()
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written["train"]["lr"] == 1e-4 and written["history"] == [{"step": 4, "lr": 1e-4}]
    assert ganlib.read_metadata(tmp_path / "run" / "generator.safetensors")["training"]["history"] == written["history"]
    again = Trainer.resume(tmp_path / "run", steps=7, lr=1e-4)  # the same rate again is no change to record
    assert again.history == [{"step": 4, "lr": 1e-4}]


def test_instance_noise_anneals_linearly_to_zero_and_resume_stays_exact(tmp_path):
    stabilised = dict(instance_noise=0.2, label_smoothing=0.1, **TINY)
    trainer = Trainer(TrainConfig(out=str(tmp_path / "probe"), steps=10, **stabilised))
    assert trainer.instance_noise_std() == pytest.approx(0.2)
    trainer.step = 5
    assert trainer.instance_noise_std() == pytest.approx(0.1)
    trainer.step = 10
    assert trainer.instance_noise_std() == 0.0
    # the noise is drawn from the run's saved generator, so "10 steps" equals "5, resume, 5" with it on too, and
    # extending a 5-step run keeps its schedule (noise 0 from step 5), as a 10-step run told so from the start does
    Trainer(TrainConfig(out=str(tmp_path / "once"), steps=10, instance_noise_steps=5, **stabilised)).run()
    Trainer(TrainConfig(out=str(tmp_path / "twice"), steps=5, **stabilised)).run()
    extended = Trainer.resume(tmp_path / "twice", steps=10)
    assert extended.config.instance_noise_steps == 5 and extended.instance_noise_std() == 0.0
    extended.run()
    once, twice = _state(tmp_path / "once"), _state(tmp_path / "twice")
    weights = [k for k in once if k.split(".")[0] in ("generator", "discriminator")]
    assert weights and all(torch.equal(once[k], twice[k]) for k in weights)


def test_instance_noise_changes_what_d_sees(tmp_path):
    runs = {
        noise: Trainer(TrainConfig(out=str(tmp_path / f"n{noise}"), steps=3, instance_noise=noise, **TINY))
        for noise in (0.0, 0.5)
    }
    for trainer in runs.values():
        trainer.run()
    plain, noised = (_state(tmp_path / f"n{noise}") for noise in (0.0, 0.5))
    assert any(not torch.equal(plain[k], noised[k]) for k in plain if k.startswith("discriminator."))


def test_with_label_smoothing_the_logged_value_is_still_v_not_ds_loss(tmp_path):
    out = tmp_path / "run"
    Trainer(TrainConfig(out=str(out), steps=4, label_smoothing=0.2, **TINY)).run()
    last = json.loads((out / "stats.jsonl").read_text().splitlines()[-1])
    assert last["value"] != pytest.approx(-last["loss_d"], abs=1e-4)  # D's smoothed loss is not -V any more
    assert last["js_estimate"] == pytest.approx(ganlib.js_divergence_estimate(last["value"]), abs=1e-5)


@pytest.mark.parametrize(
    "flags, expected",
    [("fpu sse avx2", "fp32"), ("fpu avx512f avx512_bf16", "bf16"), ("fpu amx_tile amx_bf16", "bf16"), (None, "fp32")],
)
def test_auto_precision_on_cpu_follows_the_bf16_instruction_flags(monkeypatch, flags, expected):
    from ganlib import devices

    lines = ["processor\t: 0", f"flags\t\t: {flags}"] if flags else []
    monkeypatch.setattr(devices, "_cpuinfo_lines", lambda: lines)
    assert devices.resolve_precision("auto", torch.device("cpu")) == expected
    assert devices.resolve_precision("fp32", torch.device("cpu")) == "fp32"


def poison_before(trainer, step, poison):
    """Make ``poison(trainer)`` happen right before the given step, as a blow-up inside that step would."""
    train_step = trainer._train_step

    def step_then_maybe_poison():
        if trainer.step + 1 == step:
            poison(trainer)
        return train_step()

    trainer._train_step = step_then_maybe_poison


def nan_weights(trainer):
    with torch.no_grad():
        for parameter in trainer.generator.parameters():
            parameter.fill_(float("nan"))


def nan_running_variance(trainer):  # train-mode BatchNorm ignores it, so no loss shows it
    next(m for m in trainer.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)).running_var.fill_(float("nan"))


@pytest.mark.parametrize(
    "poison, caught_at, quantity", [(nan_weights, 8, "loss_d"), (nan_running_variance, 10, "running_var")]
)
def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, poison, caught_at, quantity):
    """NaN weights show in the very next losses; a NaN no loss shows is caught before the next checkpoint write.
    Either way the step-5 checkpoint stays, loads, and resumes to the end."""
    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(out=str(out), steps=12, checkpoint_every=5, **TINY))
    poison_before(trainer, 8, poison)
    with pytest.raises(TrainingDiverged, match=f"at step {caught_at}: .*{quantity}") as diverged:
        trainer.run()
    assert diverged.value.checkpoint_step == 5
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "diverged" and status["step"] == caught_at and status["checkpoint_step"] == 5
    assert f"step {caught_at}" in status["message"] and "--resume" in status["message"]
    assert ganlib.load_generator(out / "generator.safetensors").metadata["training"]["steps"] == 5
    assert not [p for p in out.rglob("*.tmp*")]

    resumed = Trainer.resume(out)
    assert resumed.step == 5
    resumed.run()
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert ganlib.load_generator(out / "generator.safetensors").metadata["training"]["steps"] == 12
    steps = [json.loads(line)["step"] for line in (out / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8, 10, 12]  # the lines past step 5 were dropped, then written again once


def test_the_cli_reports_divergence_in_one_line_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    from ganlib.cli import main

    train_step = Trainer._train_step

    def diverging_step(self):
        if self.step == 3:
            nan_weights(self)
        return train_step(self)

    monkeypatch.setattr(Trainer, "_train_step", diverging_step)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--image-size",
            "32",
            "--latent-dim",
            "8",
            "--generator-width",
            "8",
            "--discriminator-width",
            "8",
            "--batch-size",
            "8",
            "--steps",
            "6",
            "--checkpoint-every",
            "2",
            "--precision",
            "fp32",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    error = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in error
    assert error.startswith("error: training diverged at step 4") and "checkpoint of step 2 is kept" in error
    assert json.loads((out / "status.json").read_text())["state"] == "diverged"


def test_collapsed_samples_warn_and_healthy_ones_do_not(tmp_path):
    events = []
    healthy = Trainer(TrainConfig(out=str(tmp_path / "healthy"), steps=2, **TINY))
    healthy.run()
    collapsed = Trainer(
        TrainConfig(out=str(tmp_path / "collapsed"), steps=2, **TINY),
        callbacks=[lambda event, info: events.append((event, info))],
    )
    collapsed.fixed_noise = collapsed.fixed_noise[:1].repeat(len(collapsed.fixed_noise), 1)  # 64 times one image
    collapsed.run()
    for trainer, diverse in ((healthy, True), (collapsed, False)):
        last = json.loads((trainer.run_dir / "stats.jsonl").read_text().splitlines()[-1])
        assert (last["sample_diversity"] > 0.02) == diverse
        warning = json.loads((trainer.run_dir / "status.json").read_text())["warning"]
        assert bool(warning) != diverse
    assert "samples look alike at step 2" in warning
    assert [info["message"] for event, info in events if event == "warning"] == [warning]


def test_max_minutes_stops_with_a_checkpoint(tmp_path):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), steps=1000, max_minutes=1e-6, **TINY))
    trainer.run()
    assert trainer.step == 1  # the first step already took longer than the limit
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "stopped" and status["message"] == "stopped by --max-minutes 1e-06"
    assert ganlib.load_generator(tmp_path / "run" / "generator.safetensors")
