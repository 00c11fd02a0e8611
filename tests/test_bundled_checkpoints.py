"""The bundled checkpoints: small, self-describing, and described by the README exactly as evaluate measured them."""

import json
from pathlib import Path

import pytest

import ganlib
from ganlib.checkpoint import read_metadata
from ganlib.evaluation import markdown_table

ROOT = Path(__file__).resolve().parent.parent
# the models; an encoder (NAME.encoder.safetensors, for ganlib project) sits beside its checkpoint
BUNDLED = sorted(p for p in (ROOT / "checkpoints").glob("*.safetensors") if not p.name.endswith(".encoder.safetensors"))
MAX_BYTES = 15 * 1024 * 1024


def test_a_dashboard_default_and_the_digits_model_are_bundled():
    from dashboard.services import DEFAULT_CHECKPOINTS

    names = {path.name for path in BUNDLED}
    assert "digits32.safetensors" in names and names & set(DEFAULT_CHECKPOINTS)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_bundled_checkpoint_is_small_and_says_how_it_was_trained(path):
    assert path.stat().st_size < MAX_BYTES
    generator = ganlib.load_generator(path)
    training = generator.metadata["training"]
    assert training["device"] and training["wall_seconds"] > 0 and training["steps"] > 0
    assert generator.metadata["evaluation"]["fd_ratio"] > 0  # evaluate --write-metadata ran on this very file


@pytest.mark.parametrize("name", [p.stem for p in BUNDLED if (ROOT / "docs" / f"evaluation_{p.stem}.json").exists()])
def test_readme_table_is_the_saved_evaluate_report(name):
    """The README's table is `evaluate --from-json docs/evaluation_NAME.json --markdown`, and that report was
    measured on the file as bundled (same steps, same FD as the model card)."""
    report = json.loads((ROOT / "docs" / f"evaluation_{name}.json").read_text())
    metadata = read_metadata(ROOT / "checkpoints" / f"{name}.safetensors")
    assert report["meta"]["training_steps"] == metadata["training"]["steps"]
    assert report["fd_ratio"] == pytest.approx(metadata["evaluation"]["fd_ratio"])
    assert markdown_table(report) in (ROOT / "README.md").read_text()


def test_the_bundled_encoder_belongs_to_its_checkpoint_and_is_small():
    from ganlib.encoder import encoder_path, find_encoder

    checkpoint = ROOT / "checkpoints" / "toonfaces64.safetensors"
    assert encoder_path(checkpoint).stat().st_size < 3 * 1024 * 1024
    encoder = find_encoder(checkpoint, ganlib.load_generator(checkpoint))  # checks the generator's fingerprint
    assert encoder.metadata["training"]["steps"] > 0 and encoder.metadata["training"]["seconds"] > 0
