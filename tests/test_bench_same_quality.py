"""The logic of benchmarks/bench_same_quality.py that its figures rest on: window means, and the one set of initial
weights both loops start from. The benchmark itself runs on demand (minutes), never here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.bench_same_quality import as_ganlib_generator, reference_weights, span_mean, window_means
from benchmarks.reference_dcgan import reference_discriminator, reference_generator, train_reference
from ganlib.models import Discriminator, Generator

ROOT = Path(__file__).resolve().parent.parent


def test_window_means_are_labelled_by_their_last_step_as_the_trainers_stats_lines():
    stats = [{"loss": float(step)} for step in range(1, 8)]  # steps 1..7
    assert window_means(stats, 3, keys=("loss",)) == [
        {"step": 3, "loss": 2.0},
        {"step": 6, "loss": 5.0},
        {"step": 7, "loss": 7.0},  # the short last window, as the trainer logs its last step
    ]
    with pytest.raises(ValueError, match="window"):
        window_means(stats, 0)


def test_span_mean_weights_each_window_by_its_steps():
    windows = [{"step": 3, "loss": 2.0}, {"step": 6, "loss": 5.0}, {"step": 7, "loss": 7.0}]
    assert span_mean(windows, keys=("loss",))["loss"] == pytest.approx(4.0)  # the mean of steps 1..7
    assert span_mean(windows, after_step=3, keys=("loss",))["loss"] == pytest.approx((5.0 * 3 + 7.0) / 4)


def test_the_reference_nets_start_from_our_weights_and_its_generator_samples_as_ours(tiny_config):
    torch.manual_seed(0)
    generator, discriminator = Generator(tiny_config).eval(), Discriminator(tiny_config).eval()
    net_g = reference_generator(32, nz=tiny_config.latent_dim, ngf=tiny_config.generator_width).eval()
    net_d = reference_discriminator(32, ndf=tiny_config.discriminator_width).eval()
    state_g, state_d = reference_weights(generator, discriminator)
    net_g.load_state_dict(state_g)
    net_d.load_state_dict(state_d)
    z = torch.randn(4, tiny_config.latent_dim)
    with torch.no_grad():
        images = generator(z)
        torch.testing.assert_close(net_g(z[:, :, None, None]), images)
        torch.testing.assert_close(net_d(images).flatten(), discriminator.probability(images))
        torch.testing.assert_close(as_ganlib_generator(net_g, generator)(z), images)


def test_the_reference_loop_runs_any_number_of_steps_across_epochs_and_returns_what_it_prints():
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    run = train_reference(images, batch_size=4, steps=3, workers=0)  # 2 batches per epoch: 3 steps span 2 epochs
    assert len(run.stats) == 3
    assert set(run.stats[0]) == {"loss_d", "loss_g", "d_real", "d_fake", "d_fake_after"}
    assert all(0 <= row["d_real"] <= 1 and row["loss_d"] > 0 for row in run.stats)


def test_the_readme_section_is_the_saved_benchmark():
    """The README's same-quality figures are those of docs/same_quality.json, as the benchmark wrote them."""
    report = json.loads((ROOT / "docs" / "same_quality.json").read_text())
    section = (ROOT / "README.md").read_text().split("### Same quality as the reference DCGAN")[1].split("\n### ")[0]
    measured = report["quality"]
    for key in ("ours_ema", "ours_raw", "reference"):
        assert f"{measured[key]['fd']:.1f} | {measured[key]['fd_ratio']:.1f}" in section
    assert f"{measured['fd_real_baseline']:.1f}" in section
    assert report["command"] in section
