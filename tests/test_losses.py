import math

import pytest
import torch

from ganlib.losses import discriminator_loss, generator_loss, js_divergence_estimate, value_function


def logit(p):
    return torch.logit(torch.tensor([p], dtype=torch.float64))


def test_non_saturating_loss_at_confident_discriminator():
    assert generator_loss(logit(0.1), "non-saturating").item() == pytest.approx(-math.log(0.1), abs=1e-9)  # 2.303
    assert generator_loss(logit(0.9), "non-saturating").item() == pytest.approx(-math.log(0.9), abs=1e-9)  # 0.105


def test_minimax_loss_barely_moves_where_d_rejects_fakes():
    assert generator_loss(logit(0.1), "minimax").item() == pytest.approx(math.log(0.9), abs=1e-9)
    d = torch.tensor([0.1], dtype=torch.float64)
    logits = torch.logit(d).requires_grad_()
    generator_loss(logits, "minimax").backward()
    saturating_gradient = logits.grad.abs().item()
    logits.grad = None
    generator_loss(logits, "non-saturating").backward()
    assert saturating_gradient == pytest.approx(0.1) and logits.grad.abs().item() == pytest.approx(0.9)


def test_discriminator_loss_is_bce_and_minus_value():
    real, fake = logit(0.9), logit(0.1)
    assert discriminator_loss(real, fake).item() == pytest.approx(-2 * math.log(0.9), abs=1e-9)
    assert value_function(real, fake).item() == pytest.approx(-discriminator_loss(real, fake).item(), abs=1e-9)


def test_value_at_equilibrium_is_minus_log_4_and_jsd_zero():
    half = logit(0.5)
    value = value_function(half, half).item()
    assert value == pytest.approx(-math.log(4), abs=1e-12)
    assert js_divergence_estimate(value) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence_estimate(0.0) == pytest.approx(math.log(2))  # perfect D: JSD is at its maximum, log 2


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="non-saturating"):
        generator_loss(logit(0.5), "wasserstein")


def test_label_smoothing_moves_ds_optimum_on_real_images_to_one_minus_s():
    # The real half of D's loss, -(1-s) log D - s log(1 - D), is smallest at D = 1 - s: D stops pushing its logits
    # on real images toward infinity.
    logits = torch.linspace(-4, 6, 2001, dtype=torch.float64)
    real_half = [discriminator_loss(x.view(1), logit(0.5), label_smoothing=0.1).item() for x in logits]
    best = torch.sigmoid(logits[int(torch.tensor(real_half).argmin())]).item()
    assert best == pytest.approx(0.9, abs=2e-3)
    assert discriminator_loss(logit(0.9), logit(0.1), label_smoothing=0.0).item() == pytest.approx(
        -value_function(logit(0.9), logit(0.1)).item()
    )
