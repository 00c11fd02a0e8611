"""The projection encoder (ganlib.encoder): trains on its generator's samples, saves and loads like a checkpoint,
and refuses a file that is not one, has been tampered with, or belongs to another generator."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

import ganlib
from ganlib.checkpoint import CheckpointError
from ganlib.encoder import (
    Encoder,
    encoder_path,
    find_encoder,
    generator_fingerprint,
    load_encoder,
    save_encoder,
    train_encoder,
)


@pytest.fixture
def generator(tiny_checkpoint):
    return ganlib.load_generator(tiny_checkpoint)


@pytest.fixture
def trained(generator):
    return train_encoder(generator, steps=3, batch_size=8, samples=16, width=4)


def test_an_encoder_maps_images_to_latents_of_its_generator(generator, trained):
    encoder, report = trained
    assert encoder(torch.zeros(2, 3, 32, 32)).shape == (2, 8)
    assert report["steps"] == 3 and report["samples"] == 16 and report["held_out_loss"] > 0


def test_save_and_load_round_trip_beside_the_checkpoint(tiny_checkpoint, generator, trained):
    encoder, report = trained
    path = save_encoder(encoder_path(tiny_checkpoint), encoder, generator, report)
    assert path.name == "tiny.encoder.safetensors" and path.parent == tiny_checkpoint.parent
    loaded = find_encoder(tiny_checkpoint, generator)
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(images), encoder(images), atol=2e-2)  # fp16 weights
    for name, tensor in encoder.state_dict().items():
        if "running" in name or "num_batches" in name:
            assert torch.allclose(loaded.state_dict()[name].float(), tensor.float(), rtol=1e-3, atol=1e-3), name
    assert loaded.metadata["training"]["steps"] == 3 and not loaded.training


def test_no_encoder_beside_a_checkpoint_is_none(tiny_checkpoint, generator):
    assert find_encoder(tiny_checkpoint, generator) is None


def test_an_fp16_export_of_the_generator_has_the_same_fingerprint(tmp_path, tiny_checkpoint, generator):
    copy = ganlib.save_generator(tmp_path / "half.safetensors", generator, {}, half=True)
    assert generator_fingerprint(ganlib.load_generator(copy)) == generator_fingerprint(generator)


def test_an_encoder_of_another_generator_is_refused(tmp_path, tiny_config, generator, trained):
    path = save_encoder(tmp_path / "e.encoder.safetensors", trained[0], generator)
    other = ganlib.Generator(tiny_config).eval()
    with pytest.raises(CheckpointError, match="another generator"):
        load_encoder(path, other)
    bigger = ganlib.Generator(
        ganlib.ModelConfig(image_size=32, channels=3, latent_dim=16, generator_width=8, discriminator_width=8)
    )
    with pytest.raises(CheckpointError, match="not for this generator"):
        load_encoder(path, bigger)
    assert load_encoder(path) is not None  # without a generator to check against, it loads


def _write(path, tensors, metadata):
    save_file(tensors, str(path), metadata={"ganlib": json.dumps(metadata)})
    return path


def _metadata(**changes):
    metadata = {
        "format": "ganlib-encoder",
        "format_version": 1,
        "architecture": {"image_size": 32, "channels": 3, "latent_dim": 8, "width": 4},
    }
    return {**metadata, **changes}


def _tensors(**changes):
    tensors = {f"encoder.{k}": v.clone() for k, v in Encoder(32, 3, 8, 4).state_dict().items()}
    return {**tensors, **changes}


@pytest.mark.parametrize(
    "tensors, metadata, message",
    [
        (_tensors(), _metadata(format="ganlib-generator"), "not a ganlib encoder"),
        (_tensors(), _metadata(architecture={"image_size": 32}), "invalid encoder architecture"),
        (_tensors(), _metadata(architecture={**_metadata()["architecture"], "width": 100000}), "width"),
        (_tensors(), _metadata(architecture={**_metadata()["architecture"], "latent_dim": True}), "integers"),
        (_tensors(**{"encoder.head.weight": torch.zeros(8, 3)}), _metadata(), "has shape"),
        (_tensors(**{"encoder.head.bias": torch.full((8,), float("nan"))}), _metadata(), "NaN"),
        ({"encoder.head.weight": torch.zeros(8, 64 * 16)}, _metadata(), "missing"),
        (_tensors(**{"encoder.extra": torch.zeros(1)}), _metadata(), "unexpected"),
    ],
)
def test_a_bad_encoder_file_is_refused_with_one_line(tmp_path, tensors, metadata, message):
    path = _write(tmp_path / "bad.encoder.safetensors", tensors, metadata)
    with pytest.raises(CheckpointError) as error:
        load_encoder(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_generator_file_is_not_an_encoder(tiny_checkpoint):
    with pytest.raises(CheckpointError, match="not a ganlib encoder"):
        load_encoder(tiny_checkpoint)


def test_the_catalog_does_not_offer_encoders_as_checkpoints(tmp_path, tiny_checkpoint, generator, trained):
    from ganlib.catalog import Catalog

    save_encoder(encoder_path(tiny_checkpoint), trained[0], generator)
    entries = Catalog(tiny_checkpoint.parent, tmp_path / "runs", tmp_path / "uploads").entries()
    assert [entry.path.name for entry in entries] == ["tiny.safetensors"]
