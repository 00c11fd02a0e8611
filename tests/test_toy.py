"""ganlib.toy: the 1-D GAN's theory quantities against closed forms, and a short seeded training run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib import toy
from ganlib.losses import LOG_2, LOG_4
from ganlib.toy import (
    PRESETS,
    Mixture,
    ToyConfig,
    ToyGAN,
    binned_gaussian_kde,
    generator_loss_curves,
    jensen_shannon,
    optimal_discriminator,
    value_from_probabilities,
    value_function_on_grid,
)


def _gauss(x, mu, sd):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


# ---------------------------------------------------------------- pure functions
def test_identical_distributions_give_half_and_zero_jsd():
    x = np.linspace(-10, 10, 2001)
    p = PRESETS["two modes"].density(x)
    np.testing.assert_allclose(optimal_discriminator(p, p), 0.5)
    assert jensen_shannon(p, p, x) == pytest.approx(0.0, abs=1e-12)
    # D = D* = 1/2 everywhere is the equilibrium: V = -log 4, estimate 0.
    assert value_function_on_grid(p, p, optimal_discriminator(p, p), x) == pytest.approx(-LOG_4, abs=1e-6)


def test_optimal_discriminator_where_both_densities_vanish_is_half():
    np.testing.assert_allclose(optimal_discriminator([0.0, 1.0, 0.0], [0.0, 0.0, 2.0]), [0.5, 1.0, 0.0])
    with pytest.raises(ValueError):
        optimal_discriminator([-1.0], [1.0])


def test_disjoint_supports_give_log2():
    x = np.linspace(-20, 20, 4001)
    assert jensen_shannon(_gauss(x, -10, 1), _gauss(x, 10, 1), x) == pytest.approx(LOG_2, abs=1e-6)
    # Exactly disjoint (zeros, not just tiny values): 0 log 0 = 0, no NaN.
    p = np.where(x < 0, _gauss(x, -10, 1), 0.0)
    q = np.where(x > 0, _gauss(x, 10, 1), 0.0)
    assert jensen_shannon(p, q, x) == pytest.approx(LOG_2, abs=1e-6)
    assert jensen_shannon(q, p, x) == pytest.approx(LOG_2, abs=1e-6)


@pytest.mark.parametrize("shift", [0.3, 1.0, 2.5])
def test_value_at_optimal_discriminator_is_twice_jsd_minus_log4(shift):
    x = np.linspace(-12, 12, 4001)
    p_data = PRESETS["uneven modes"].density(x)
    p_g = _gauss(x, shift, 0.8)
    jsd = jensen_shannon(p_data, p_g, x)
    assert 0.0 < jsd < LOG_2
    v_star = value_function_on_grid(p_data, p_g, optimal_discriminator(p_data, p_g), x)
    assert (LOG_4 + v_star) / 2 == pytest.approx(jsd, abs=1e-9)
    # Any other D gives a smaller V: the estimate is a lower bound on the JSD.
    for d in (np.full_like(x, 0.5), 1 / (1 + np.exp(-x)), np.clip(optimal_discriminator(p_data, p_g) + 0.05, 0, 1)):
        assert (LOG_4 + value_function_on_grid(p_data, p_g, d, x)) / 2 < jsd


def test_jsd_is_symmetric_and_bounded():
    x = np.linspace(-10, 10, 2001)
    p, q = _gauss(x, 0, 1), _gauss(x, 1.5, 0.5)
    assert jensen_shannon(p, q, x) == pytest.approx(jensen_shannon(q, p, x), abs=1e-12)
    assert 0 < jensen_shannon(p, q, x) < LOG_2
    with pytest.raises(ValueError):
        jensen_shannon(p, q[:-1], x)


def test_value_function_and_loss_curves_closed_forms():
    assert value_from_probabilities(0.5, 0.5) == pytest.approx(-LOG_4, abs=1e-12)
    assert value_from_probabilities([0.9, 0.7], [0.2]) == pytest.approx(
        0.5 * (math.log(0.9) + math.log(0.7)) + math.log(0.8)
    )
    c = generator_loss_curves(np.array([0.1, 0.5, 0.9]))
    assert c.non_saturating[0] == pytest.approx(2.302585, abs=1e-6)  # -ln 0.1
    assert c.minimax[0] == pytest.approx(math.log(0.9))  # barely below 0
    np.testing.assert_allclose(c.minimax_grad, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(c.non_saturating_grad, [0.9, 0.5, 0.1])
    with pytest.raises(ValueError):
        generator_loss_curves([0.0, 0.5])


def test_loss_curve_gradients_match_autograd_wrt_logit():
    d = np.array([0.02, 0.1, 0.5, 0.97])
    logit = torch.tensor(np.log(d / (1 - d)), requires_grad=True)
    c = generator_loss_curves(d)
    (g_sat,) = torch.autograd.grad(torch.log1p(-torch.sigmoid(logit)).sum(), logit)
    (g_ns,) = torch.autograd.grad((-torch.log(torch.sigmoid(logit))).sum(), logit)
    np.testing.assert_allclose(np.abs(g_sat.numpy()), c.minimax_grad, rtol=1e-9)
    np.testing.assert_allclose(np.abs(g_ns.numpy()), c.non_saturating_grad, rtol=1e-9)


def test_binned_kde_matches_direct_kde():
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.normal(-2, 0.5, 1500), rng.normal(1, 1.0, 1500)])
    x = np.linspace(-6, 6, 400)
    h = 0.25
    direct = _gauss(x[:, None], samples[None, :], h).mean(axis=1)
    binned = binned_gaussian_kde(samples, x, h)
    assert np.max(np.abs(binned - direct)) < 0.01 * direct.max()
    assert np.sum(0.5 * (binned[1:] + binned[:-1]) * np.diff(x)) == pytest.approx(1.0, abs=1e-9)


# ---------------------------------------------------------------- data
def test_mixture_density_and_sampling():
    m = Mixture(weights=(3, 1), means=(-1.0, 2.0), stds=(0.5, 1.0))
    assert m.weights == pytest.approx((0.75, 0.25))
    x = np.linspace(-10, 12, 5001)
    assert np.sum(0.5 * (m.density(x)[1:] + m.density(x)[:-1]) * np.diff(x)) == pytest.approx(1.0, abs=1e-6)
    assert m.density(2.0) == pytest.approx(0.75 * _gauss(2.0, -1, 0.5) + 0.25 * _gauss(2.0, 2, 1.0))
    s = m.sample(20000, torch.Generator().manual_seed(0))
    assert s.shape == (20000, 1) and s.dtype == torch.float32
    assert float(s.mean()) == pytest.approx(m.mean, abs=0.05)
    assert float(s.std()) == pytest.approx(m.std, abs=0.05)
    assert torch.equal(m.sample(100, torch.Generator().manual_seed(1)), m.sample(100, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError):
        m.sample(-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(weights=(1.0,), means=(0.0, 1.0), stds=(1.0,)),
        dict(weights=(), means=(), stds=()),
        dict(weights=(-1.0, 2.0), means=(0.0, 1.0), stds=(1.0, 1.0)),
        dict(weights=(1.0,), means=(0.0,), stds=(0.0,)),
        dict(weights=(1.0,), means=(float("nan"),), stds=(1.0,)),
        dict(weights=("a",), means=(0.0,), stds=(1.0,)),
    ],
)
def test_bad_mixture_raises(kwargs):
    with pytest.raises(ValueError):
        Mixture(**kwargs)


def test_presets():
    assert {"one Gaussian", "two modes", "far apart"} <= set(PRESETS)
    far = PRESETS["far apart"]
    assert len(far.means) == 2 and abs(far.means[1] - far.means[0]) > 10 * max(far.stds)


# ---------------------------------------------------------------- config
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(loss="wasserstein"),
        dict(d_steps=0),
        dict(d_steps=21),
        dict(d_steps=1.5),
        dict(lr_g=0.0),
        dict(lr_d=-1e-3),
        dict(lr_d=float("nan")),
        dict(batch_size=1),
        dict(noise_dim=0),
        dict(hidden=True),
        dict(seed=-1),
        dict(preset="no such preset"),
        dict(mixture="two modes"),
        dict(optimal_d="yes"),
    ],
)
def test_bad_config_raises(kwargs):
    with pytest.raises(ValueError):
        ToyConfig(**kwargs)


def test_config_mixture_overrides_preset():
    m = Mixture((1.0,), (3.0,), (0.2,))
    assert ToyConfig(mixture=m, preset="ignored label").data is m
    assert ToyConfig(preset="far apart").data is PRESETS["far apart"]
    assert ToyConfig().replace(d_steps=3).d_steps == 3
    with pytest.raises(ValueError):
        ToyConfig().replace(d_steps=99)


# ---------------------------------------------------------------- training
def test_training_one_gaussian_reduces_exact_jsd():
    gan = ToyGAN(ToyConfig(preset="one Gaussian", seed=0))
    gan.step(200)
    jsd = gan.history_columns()["jsd_exact"]
    assert jsd[0] > 0.5  # fresh G puts its mass near 0, the data sit at 2 +- 0.5
    assert jsd[-20:].mean() < 0.25 * jsd[0]
    assert gan.step_count == 200 and [r.step for r in gan.history] == list(range(1, 201))


def test_history_records_are_consistent():
    gan = ToyGAN(ToyConfig(preset="two modes", loss="minimax", d_steps=2))
    records = gan.step(5)
    assert records == gan.history[-5:]
    for r in records:
        assert r.jsd_estimate == pytest.approx((LOG_4 + r.value) / 2)
        assert 0 <= r.jsd_exact <= LOG_2 + 1e-9
        assert r.jsd_estimate <= r.jsd_exact + 1e-6  # V(D) <= V(D*)
        assert 0 < r.mean_d_real < 1 and 0 < r.mean_d_fake < 1
        assert r.loss_g <= 0  # saturating loss log(1 - D) is negative
        assert r.grad_norm_g > 0
    assert gan.step(0) == [] and len(gan.history) == 5
    with pytest.raises(ValueError):
        gan.step(-1)


def test_trained_d_gives_a_loose_lower_bound_on_two_modes():
    """What the page shows on "two modes": the small D trained one step per G step sits near 1/2 while D* does
    not, so the estimate (log 4 + V) / 2 stays near 0, below an exact JSD of several hundredths."""
    gan = ToyGAN(ToyConfig(preset="two modes"))
    gan.step(300)
    history = gan.history_columns()
    assert np.all(history["jsd_estimate"] <= history["jsd_exact"] + 1e-6)  # a lower bound at every step
    gap = history["jsd_exact"][-100:] - history["jsd_estimate"][-100:]
    assert gap.mean() > 0.03  # and a loose one


@pytest.mark.parametrize("loss", ["non-saturating", "minimax"])
def test_optimal_d_makes_the_estimate_meet_the_exact_jsd(loss):
    gan = ToyGAN(ToyConfig(preset="two modes", loss=loss, optimal_d=True))
    records = gan.step(60)
    for r in records:
        assert r.jsd_estimate == pytest.approx(r.jsd_exact, abs=1e-4)
        assert 0 < r.loss_d <= LOG_4 + 1e-9  # D's "loss" is -V(D*, G) = log 4 - 2 JSD, before G's step
        assert 0 < r.mean_d_real < 1 and r.grad_norm_g > 0
    snap = gan.snapshot()
    np.testing.assert_allclose(snap.d, snap.d_star)
    assert snap.jsd_estimate == pytest.approx(snap.jsd_exact, abs=1e-4)
    assert records[-1].jsd_exact < 0.75 * records[0].jsd_exact  # G learns against D*


def test_optimal_d_shows_why_the_minimax_loss_stalls():
    """Far from the data D* is ~0 and flat: log(1 - D*) gives G no gradient, while -log D* pulls it to the data."""
    stalled = ToyGAN(ToyConfig(preset="far apart", loss="minimax", optimal_d=True))
    moving = ToyGAN(ToyConfig(preset="far apart", loss="non-saturating", optimal_d=True))
    stalled.step(100)
    moving.step(100)
    assert stalled.history[-1].jsd_exact > LOG_2 - 0.01
    assert moving.history[-1].jsd_exact < 0.3


def test_snapshot_arrays_and_identities():
    gan = ToyGAN(ToyConfig(preset="far apart"))
    gan.step(20)
    s = gan.snapshot(grid_size=300)
    for arr in (s.x, s.p_data, s.p_g, s.d, s.d_star):
        assert isinstance(arr, np.ndarray) and arr.shape == (300,) and np.all(np.isfinite(arr))
    assert np.all(np.diff(s.x) > 0)
    assert s.x[0] <= s.data_range[0] and s.x[-1] >= s.data_range[1]
    integral = lambda y: float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(s.x)))  # noqa: E731
    assert integral(s.p_data) == pytest.approx(1.0, abs=1e-4)
    assert integral(s.p_g) == pytest.approx(1.0, abs=1e-9)
    assert np.all((s.d > 0) & (s.d < 1)) and np.all((s.d_star >= 0) & (s.d_star <= 1))
    assert s.value_at_d_star == pytest.approx(2 * s.jsd_exact - LOG_4, abs=1e-4)
    assert s.jsd_estimate == pytest.approx((LOG_4 + s.value) / 2)
    assert s.jsd_estimate <= s.jsd_exact + 1e-6
    assert s.fake_x.shape == s.d_fake.shape == (gan.config.batch_size,)
    assert isinstance(s.value, float) and isinstance(s.jsd_exact, float) and s.bandwidth > 0
    assert s.step == 20


def test_reset_and_seed_determinism_and_no_global_state_change():
    torch_rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    cfg = ToyConfig(preset="two modes", seed=7, d_steps=2)
    gan = ToyGAN(cfg)
    gan.step(10)
    gan.snapshot()  # evaluating must not disturb the training stream
    gan.step(10)
    first = list(gan.history)
    gan.reset()
    assert gan.step_count == 0 and gan.history == []
    gan.step(20)
    assert gan.history == first
    other = ToyGAN(cfg)
    other.step(20)
    assert other.history == first
    assert ToyGAN(cfg.replace(seed=8)).step(3) != first[:3]
    assert torch.equal(torch.random.get_rng_state(), torch_rng)
    assert torch.get_num_threads() == threads


def test_module_does_not_import_streamlit():
    source = Path(toy.__file__).read_text()
    assert "import streamlit" not in source and "from streamlit" not in source
