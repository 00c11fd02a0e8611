"""The training-recipe options that benchmarks/bench_recipe.py compares: D's own learning rate, an instance-noise
floor, lazy R1 and differentiable augmentation."""

import pytest
import torch
from conftest import TINY_TRAINING
from test_train import _state

from ganlib import augment as augmentation
from ganlib.config import AUGMENT_POLICIES, TrainConfig
from ganlib.train import R1_EVERY, Trainer

TINY = TINY_TRAINING


def _images(n=4, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_the_config_offers_exactly_the_policies_augment_knows():
    assert set(AUGMENT_POLICIES) == set(augmentation.POLICIES)


@pytest.mark.parametrize("policy", AUGMENT_POLICIES)
def test_augmentation_keeps_the_shape_is_seeded_and_passes_gradients(policy):
    images = _images().requires_grad_(True)
    first = augmentation.augment(images, policy, torch.Generator().manual_seed(1))
    again = augmentation.augment(images, policy, torch.Generator().manual_seed(1))
    assert first.shape == images.shape and torch.equal(first, again)
    first.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    if policy == "none":
        assert torch.equal(first, images)
    else:
        other = augmentation.augment(images, policy, torch.Generator().manual_seed(2))
        assert not torch.equal(first, other)


def test_translation_moves_pixels_and_fills_with_zero():
    images = _images(n=8, size=16)
    moved = augmentation.augment(images, "translation", torch.Generator().manual_seed(0))
    values = set(images.flatten().tolist()) | {0.0}
    assert set(moved.flatten().tolist()) <= values  # only shifted input pixels or the zero fill
    assert not torch.equal(moved, images)
    assert (moved == 0).any()


def test_cutout_zeroes_one_square_of_half_the_side_at_most():
    images = torch.ones(16, 3, 16, 16)
    cut = augmentation.augment(images, "translation-cutout", torch.Generator().manual_seed(0))
    only_cut = augmentation._cutout(images, torch.Generator().manual_seed(0))
    zeroed = (only_cut == 0).all(dim=1).sum(dim=(1, 2))
    assert zeroed.max() <= 8 * 8 and zeroed.min() > 0  # one 8x8 square, clipped at the border
    assert cut.shape == images.shape


def test_unknown_policy_is_refused_in_one_line():
    with pytest.raises(ValueError, match="augment must be one of"):
        augmentation.augment(_images(), "mixup", torch.Generator())
    with pytest.raises(ValueError, match="augment must be"):
        TrainConfig(augment="mixup")


def test_d_learns_at_its_own_rate_and_keeps_it_on_resume(tmp_path):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), steps=2, discriminator_lr=5e-5, **TINY))
    assert [g["lr"] for g in trainer.optimizer_d.param_groups] == [5e-5]
    assert [g["lr"] for g in trainer.optimizer_g.param_groups] == [2e-4]
    trainer.run()
    resumed = Trainer.resume(tmp_path / "run", steps=4, lr=1e-4)
    assert [g["lr"] for g in resumed.optimizer_d.param_groups] == [5e-5]
    assert [g["lr"] for g in resumed.optimizer_g.param_groups] == [1e-4]
    same = Trainer(TrainConfig(out=str(tmp_path / "same"), steps=2, **TINY))
    assert [g["lr"] for g in same.optimizer_d.param_groups] == [2e-4]  # 0 means "as --lr"


def test_instance_noise_falls_to_its_floor_and_stays_there(tmp_path):
    trainer = Trainer(
        TrainConfig(out=str(tmp_path / "run"), steps=10, instance_noise=0.2, instance_noise_floor=0.05, **TINY)
    )
    assert trainer.instance_noise_std() == pytest.approx(0.2)
    trainer.step = 5
    assert trainer.instance_noise_std() == pytest.approx(0.1)
    trainer.step = 9
    assert trainer.instance_noise_std() == pytest.approx(0.05)  # 0.02 by the line, held at the floor
    trainer.step = 10
    assert trainer.instance_noise_std() == pytest.approx(0.05)


def test_r1_penalty_is_gamma_half_the_squared_input_gradient_times_its_interval(tmp_path):
    trainer = Trainer(TrainConfig(out=str(tmp_path / "run"), steps=1, r1_gamma=2.0, **TINY))
    real = trainer._real_batch()
    penalty = trainer._r1_penalty(real)
    x = real.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(trainer.discriminator(x).sum(), x)
    expected = 2.0 / 2 * gradient.square().sum(dim=(1, 2, 3)).mean() * R1_EVERY
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-4)
    assert penalty.requires_grad  # it trains D


def test_r1_changes_d_only_on_its_steps(tmp_path):
    """Step 0 is an R1 step: D's weights after it differ from a run without R1; G's first update, computed before
    D's penalty could matter to it, is the same."""
    for name, gamma in (("plain", 0.0), ("r1", 10.0)):
        Trainer(TrainConfig(out=str(tmp_path / name), steps=1, r1_gamma=gamma, **TINY)).run()
    plain, r1 = _state(tmp_path / "plain"), _state(tmp_path / "r1")
    d_weights = [k for k in plain if k.startswith("discriminator.") and plain[k].is_floating_point()]
    assert any(not torch.equal(plain[k], r1[k]) for k in d_weights)


@pytest.mark.parametrize(
    "options",
    [
        {"augment": "color-translation-cutout"},
        {"r1_gamma": 1.0, "instance_noise_floor": 0.02, "discriminator_lr": 1e-4},
    ],
)
def test_runs_with_the_recipe_options_resume_exactly(tmp_path, options):
    # the (default) instance noise's end named: an extended run otherwise keeps the shorter run's schedule
    options = {**options, "instance_noise_steps": 2 * R1_EVERY + 2}
    Trainer(TrainConfig(out=str(tmp_path / "once"), steps=2 * R1_EVERY + 2, **TINY, **options)).run()
    Trainer(TrainConfig(out=str(tmp_path / "twice"), steps=R1_EVERY + 1, **TINY, **options)).run()
    Trainer.resume(tmp_path / "twice", steps=2 * R1_EVERY + 2).run()
    once, twice = _state(tmp_path / "once"), _state(tmp_path / "twice")
    weights = [k for k in once if k.split(".")[0] in ("generator", "discriminator", "ema")]
    assert weights and all(torch.equal(once[k], twice[k]) for k in weights)
