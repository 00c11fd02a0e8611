"""Projection (ganlib.inversion): a known z comes back from G(z), starts and restarts behave, the perceptual term
is chosen as documented, and the CLI's project and train-encoder commands work end to end on tiny models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import ganlib
from ganlib.cli import main
from ganlib.encoder import encoder_path
from ganlib.images import to_uint8
from ganlib.inversion import project, psnr


@pytest.fixture
def contrasty_generator(tiny_config):
    """A tiny G whose images depend clearly on z: DCGAN's N(0, 0.02) init makes a near-constant grey at first."""
    torch.manual_seed(0)
    generator = ganlib.Generator(tiny_config).eval()
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, torch.nn.ConvTranspose2d):
                module.weight.normal_(0, 1.5 / (module.weight.shape[0] * 4) ** 0.5)
    return generator


class KnownLatents(torch.nn.Module):
    """An 'encoder' that answers the given latents, to check where the first start comes from."""

    def __init__(self, z):
        super().__init__()
        self.register_buffer("z", z)

    def forward(self, images):
        return self.z[: len(images)]


@pytest.mark.slow
def test_a_known_latent_is_recovered_from_its_image(contrasty_generator):
    z = ganlib.sample_latents(3, 8, seed=5)
    with torch.no_grad():
        images = to_uint8(contrasty_generator(z))
    result = project(contrasty_generator, images, steps=120, restarts=4, seed=1, prior_weight=0.0)
    assert result.latents.shape == (3, 8) and result.reconstructions.shape == (3, 32, 32, 3)
    relative_error = (result.latents - z).norm(dim=1) / z.norm(dim=1)
    assert (relative_error < 0.15).all(), relative_error
    assert (result.psnr > 35).all(), result.psnr  # a random z scores about 22 dB against these
    assert result.perceptual == "pixels" and result.start == "random"
    assert np.isnan(result.feature_distance).all()


def test_the_first_start_is_the_encoders_guess(contrasty_generator):
    z = ganlib.sample_latents(2, 8, seed=7)
    with torch.no_grad():
        images = to_uint8(contrasty_generator(z))
    result = project(
        contrasty_generator, images, steps=1, restarts=3, encoder=KnownLatents(z), learning_rate=1e-4, prior_weight=0
    )
    assert result.start == "encoder"
    assert torch.allclose(result.latents, z, atol=1e-3)  # the guess was right and beat the random starts


def test_more_restarts_never_end_worse_and_the_seed_decides(contrasty_generator):
    images = to_uint8(contrasty_generator(ganlib.sample_latents(2, 8, seed=11)).detach())
    one = project(contrasty_generator, images, steps=15, restarts=1, seed=3, prior_weight=0)
    again = project(contrasty_generator, images, steps=15, restarts=1, seed=3, prior_weight=0)
    assert torch.equal(one.latents, again.latents)
    # image i's starts come from seed + i however the rows are batched, so 4 restarts include the one above
    many = project(contrasty_generator, images, steps=15, restarts=4, seed=3, prior_weight=0, batch_rows=4)
    assert (many.pixel_mse <= one.pixel_mse + 1e-6).all()


def test_the_perceptual_term_comes_from_the_classifier_then_d_then_nothing(tiny_config, contrasty_generator):
    from ganlib.classifier import AttributeClassifier

    images = np.zeros((1, 20, 30, 3), np.uint8)  # any size: cropped and resized to 32 x 32
    discriminator = ganlib.Discriminator(tiny_config).eval()
    classifier = AttributeClassifier({"flag": ["no", "yes"]}, width=4, feature_dim=8).eval()
    kinds = [
        project(contrasty_generator, images, steps=1, restarts=1, **models).perceptual
        for models in ({"classifier": classifier, "discriminator": discriminator}, {"discriminator": discriminator}, {})
    ]
    assert kinds == ["classifier", "discriminator", "pixels"]
    assert all(p.requires_grad for p in contrasty_generator.parameters())  # flags restored after projecting


def test_grey_models_project_grey_images(contrasty_generator):
    config = ganlib.ModelConfig(image_size=32, channels=1, latent_dim=8, generator_width=8, discriminator_width=8)
    generator = ganlib.Generator(config).eval()
    result = project(generator, np.full((2, 40, 40, 3), 200, np.uint8), steps=2, restarts=2)
    assert result.targets.shape == (2, 32, 32, 1) and result.reconstructions.shape == (2, 32, 32, 3)


def test_psnr_of_equal_images_is_infinite_and_of_a_known_error_is_known():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[1] += 255
    assert np.isinf(psnr(a, a)).all()
    assert psnr(a, b)[1] == pytest.approx(0.0)


def test_bad_arguments_are_refused(contrasty_generator):
    images = np.zeros((1, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="steps"):
        project(contrasty_generator, images, steps=0)
    with pytest.raises(ValueError, match="no images"):
        project(contrasty_generator, np.zeros((0, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        project(contrasty_generator, np.zeros((1, 32, 32, 3), np.float32))


# ---------------------------------------------------------------- the CLI


def _pictures(tmp_path) -> list:
    rng = np.random.default_rng(0)
    first = tmp_path / "a.png"
    Image.fromarray(rng.integers(0, 256, (50, 70, 4), dtype=np.uint8), "RGBA").save(first)
    second = tmp_path / "b.jpg"
    Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(second)
    return [str(first), str(second)]


def test_cli_project_writes_latents_and_a_grid(tmp_path, tiny_checkpoint, capsys):
    images = _pictures(tmp_path)
    out, grid = tmp_path / "z.npy", tmp_path / "recon.png"
    command = ["project", str(tiny_checkpoint), *images, "--out", str(out), "--grid", str(grid)]
    assert main([*command, "--steps", "3", "--restarts", "2", "--quiet"]) == 0
    latents = np.load(out, allow_pickle=False)
    assert latents.shape == (2, 8) and latents.dtype == np.float32
    assert Image.open(grid).size == (4 * 34 + 2, 34 + 2)  # input beside reconstruction, one row
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "perceptual term: discriminator" in printed and "random starts" in printed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--out", "z.txt"], "must be a file name ending in .npy"),
        (["--out", "z.npy", "--steps", "0"], "--steps must be from 1"),
        (["--out", "z.npy", "--encoder", "missing.encoder.safetensors"], "no such file"),
    ],
)
def test_cli_project_refuses_with_one_line(tmp_path, tiny_checkpoint, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    images = _pictures(tmp_path)
    assert main(["project", str(tiny_checkpoint), *images, *arguments, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_cli_project_names_an_unreadable_image(tmp_path, tiny_checkpoint, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    assert main(["project", str(tiny_checkpoint), str(broken), "--out", str(tmp_path / "z.npy"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "broken.png" in error and error.count("\n") == 1
    assert not (tmp_path / "z.npy").exists()


def test_cli_train_encoder_then_project_starts_from_it(tmp_path, tiny_checkpoint, capsys):
    command = ["train-encoder", str(tiny_checkpoint), "--steps", "2", "--samples", "16", "--batch-size", "8"]
    assert main([*command, "--width", "4", "--quiet"]) == 0
    assert encoder_path(tiny_checkpoint).is_file()
    images = _pictures(tmp_path)
    out = tmp_path / "z.npy"
    assert main(["project", str(tiny_checkpoint), *images, "--out", str(out), "--steps", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "from the encoder" in printed and "2 starts x 2 steps" in printed
    assert main(["project", str(tiny_checkpoint), *images, "--out", str(out), "--steps", "2", "--encoder", "none"]) == 0
    assert "random starts" in capsys.readouterr().out


def test_the_readme_table_is_the_saved_benchmark():
    """The README's inversion figures are those of docs/bench_inversion.json, as benchmarks/bench_inversion.py
    wrote them."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    report = json.loads((root / "docs" / "bench_inversion.json").read_text())
    section = (root / "README.md").read_text().split("### Your own images (inversion)")[1].split("\n### ")[0]
    faces, digits = report["toonfaces64"], report["digits32"]
    assert f"| {faces['with_encoder']['kept_all']:.0%} |" in section
    assert f"| {faces['with_encoder']['psnr']:.1f} dB | {faces['without_encoder']['psnr']:.1f} dB |" in section
    assert f"| {faces['with_encoder']['seconds_per_image']:.2f} |" in section
    assert f"against the same faces: {faces['random_sample_psnr']:.1f} dB" in section
    projected = faces["sunglasses"]["projected"]
    assert f"add {projected['add_success']:.0%} of {projected['add_faces']}" in section
    assert f"| {digits['with_encoder']['psnr']:.1f} dB | {digits['without_encoder']['psnr']:.1f} dB |" in section
    assert report["toonfaces64"]["with_encoder"]["n"] == 100


def test_projection_never_returns_non_finite_latents(tiny_config):
    """A generator whose images are NaN (a negative BatchNorm variance) made `project` exit 0 with NaN latents."""
    from ganlib.inversion import NonFiniteProjection

    generator = ganlib.Generator(tiny_config).eval()
    generator.net[1].running_var.fill_(-1.0)
    images = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(NonFiniteProjection, match="image 1 and 1 more ended at NaN or infinite latents") as info:
        project(generator, images, steps=2, restarts=2)
    assert info.value.rows == [0, 1]


def test_cli_project_refuses_a_generator_that_draws_nan_and_writes_nothing(tmp_path, tiny_checkpoint, capsys):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(tiny_checkpoint))
    tensors["generator.net.1.running_var"] = -torch.ones_like(tensors["generator.net.1.running_var"])
    path = tmp_path / "negative.safetensors"
    save_file(tensors, str(path), metadata={"ganlib": json.dumps(ganlib.read_metadata(tiny_checkpoint))})
    out = tmp_path / "z.npy"
    assert main(["project", str(path), *_pictures(tmp_path), "--out", str(out), "--steps", "2", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: negative.safetensors: ") and error.count("\n") == 1 and not out.exists()


def test_cli_project_names_the_picture_whose_projection_is_not_finite(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    from ganlib import inversion

    def diverged(*args, **kwargs):
        raise inversion.NonFiniteProjection([1])

    monkeypatch.setattr(inversion, "project", diverged)
    images, out = _pictures(tmp_path), tmp_path / "z.npy"
    assert main(["project", str(tiny_checkpoint), *images, "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {images[1]}: its projection into tiny.safetensors ended at NaN")
    assert error.count("\n") == 1 and not out.exists()
