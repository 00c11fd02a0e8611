"""Every attribute edit the Arithmetic page offers (method x Conditional x per-face strength) on the bundled 64-px
ToonFaces model adds sunglasses to most of the page's faces at the default strength, keeps each face itself, and
keeps every edited z where G was trained: the faces, strength and services are the page's own."""

from pathlib import Path

import numpy as np
import pytest
import torch
from app_support import isolate_app

from ganlib.classifier import BUNDLED
from ganlib.directions import METHODS, edit_latents

CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "toonfaces64.safetensors"
ATTRIBUTE = "sunglasses"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHECKPOINT.is_file() and BUNDLED["toonfaces"].is_file()), reason="needs toonfaces64 and its classifier"
    ),
]


def trained_norm_range(latent_dim: int) -> tuple[float, float]:
    """||z|| of G's training noise N(0, I): all but 1 sample in 1000 lie inside (a chi distribution, about
    sqrt(latent_dim) ± 0.7)."""
    from scipy.stats import chi

    low, high = chi.ppf([0.0005, 0.9995], latent_dim)
    return float(low), float(high)


@pytest.mark.parametrize("per_face", [False, True], ids=["one strength", "per-face"])
@pytest.mark.parametrize("conditional", [False, True], ids=["plain", "conditional"])
@pytest.mark.parametrize("method", METHODS)
def test_every_edit_adds_the_attribute_keeps_the_face_and_stays_in_range(
    tmp_path, monkeypatch, method, conditional, per_face
):
    isolate_app(tmp_path, monkeypatch, CHECKPOINT)
    from dashboard import services, state
    from dashboard.views.attribute_edits import DEMO, EDIT_FACES

    path = services.list_checkpoints()[0].id
    strength = state.URL_STATE["strength"].default
    assert strength > 0
    seeds = services.exemplar_seeds(path, (f"-{ATTRIBUTE}",), EDIT_FACES, DEMO["edit_seed"])  # the page's faces
    assert len(seeds) == EDIT_FACES
    model = services.explorer(path)
    direction = model.direction(ATTRIBUTE, method, conditional=conditional, n=services.DIRECTION_SAMPLES)
    reference = model.direction(ATTRIBUTE, "mean_difference", n=services.DIRECTION_SAMPLES)
    assert direction.class_distance == pytest.approx(reference.class_distance)  # one unit for every edit
    z = model.latents(seeds)
    if per_face:
        images, strengths, probabilities = services.per_face_edit(path, ATTRIBUTE, method, conditional, seeds, True)
        limit = services.PER_FACE_MAX_STRENGTH
        edited = edit_latents(z, direction, torch.as_tensor(np.where(np.isnan(strengths), limit, strengths)))
    else:
        images = services.attribute_edit(path, ATTRIBUTE, method, conditional, seeds, (0.0, strength))
        probabilities = services.edit_probabilities(path, ATTRIBUTE, method, conditional, seeds, (0.0, strength))
        edited = edit_latents(z, direction, strength)

    assert (probabilities[:, 0] < 0.5).all()
    added = int((probabilities[:, 1] > 0.5).sum())
    assert added > len(seeds) / 2, f"{ATTRIBUTE} added on {added} of {len(seeds)} faces"

    low, high = trained_norm_range(model.latent_dim)
    norms = edited.norm(dim=1).numpy()
    assert ((norms > low) & (norms < high)).all(), f"||z|| {np.round(norms, 2)} outside [{low:.2f}, {high:.2f}]"

    # the same face, edited: each after-image is nearer its own before-image than any other face's
    before, after = images[:, 0].astype(np.float32), images[:, 1].astype(np.float32)
    distances = ((after[:, None] - before[None]) ** 2).mean(axis=(2, 3, 4))
    nearest = distances.argmin(axis=1)
    assert (nearest == np.arange(len(seeds))).all(), f"edited faces nearest to faces {nearest.tolist()}"
