"""AppTest: the Your image page warns in one sentence when what came back is no closer to the picture than a random
sample (a gradient), says nothing of the kind for a picture the model can make, and turns a projection that ended
at non-finite latents into one line rather than an error box."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from app_support import isolate_app, run_view
from PIL import Image

from dashboard import services

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "checkpoints" / "toonfaces64.safetensors"
ENCODER = ROOT / "checkpoints" / "toonfaces64.encoder.safetensors"
QUICK_SEARCH = {"_search_restarts": 1, "_search_steps": 3}
WARNING = "far from anything the model makes"


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def warnings(at) -> list[str]:
    return [warning.value for warning in at.main.warning]


def upload(at, name: str, picture: np.ndarray, nth: int = 0):
    """The page empties its uploader after each picture by giving it the next key."""
    return at.file_uploader(key=f"picture_upload_{nth}").upload(name, png(picture), "image/png").run()


def quick(at, path: str):
    for key, value in {**QUICK_SEARCH, "_search_for": path}.items():
        at.session_state[key] = value
    return at


@pytest.mark.skipif(not (BUNDLED.is_file() and ENCODER.is_file()), reason="needs toonfaces64 and its encoder")
@pytest.mark.slow
def test_a_gradient_gets_the_warning_and_a_sample_of_the_model_does_not(tmp_path, monkeypatch):
    checkpoints = isolate_app(tmp_path, monkeypatch, BUNDLED)
    (checkpoints / ENCODER.name).write_bytes(ENCODER.read_bytes())
    at = quick(run_view("your_image", timeout=120), "bundled/toonfaces64")
    ramp = np.linspace(0, 255, 64).astype(np.uint8)
    gradient = np.stack([np.tile(ramp, (64, 1)), np.tile(ramp[:, None], (1, 64)), np.full((64, 64), 128, np.uint8)], -1)
    upload(at, "gradient.png", gradient)
    assert not at.exception
    said = [text for text in warnings(at) if WARNING in text]
    assert len(said) == 1 and "\n" not in said[0], warnings(at)
    assert "G(z)" in [image.caption for element in at.main.get("image") for image in element.proto.imgs]
    path = services.list_checkpoints()[0].id
    sample = services.explorer(path).images_for_seeds([7])[0]
    upload(at, "sample.png", sample, nth=1)
    assert not at.exception
    assert len([text for text in warnings(at) if WARNING in text]) == 1  # the gradient's only, not the sample's
    assert float(at.main.metric[-1].value.removesuffix(" dB")) > 20  # the sample found closely


def test_a_projection_that_ends_at_non_finite_latents_is_one_line(tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    calls = []

    def diverged(*args, **kwargs):
        calls.append(1)
        raise services.inversion.NonFiniteProjection([0])

    monkeypatch.setattr(services.inversion, "project", diverged)
    at = quick(run_view("your_image"), services.list_checkpoints()[0].id)
    upload(at, "me.png", np.full((32, 32, 3), 90, np.uint8))
    assert not at.exception and not at.main.error
    lines = [text for text in warnings(at) if "No latent was found for me.png" in text]
    assert len(lines) == 1 and "\n" not in lines[0], warnings(at)
    at.run()
    assert not at.exception and len(calls) == 1  # a rerun does not search again, and still says it
    assert any("No latent was found" in text for text in warnings(at))
