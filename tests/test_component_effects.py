"""Measured effects and names of components: a planted generator whose first latent coordinate paints the image red
and whose second barely tints it green, judged by a classifier that reads those colours."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganlib.component_effects import (
    FACES,
    MEASURE_SEED,
    MIN_CHANGE,
    STEP,
    compare,
    is_step_figures,
    measure,
    measure_chance,
    measure_step,
    name_component,
    named_components,
    observe,
    random_direction,
    share,
    spoken,
)
from ganlib.components import Component
from ganlib.explorer import Explorer

LATENT_DIM = 64  # a random unit vector then has about 1/8 of its length along z0 (in 8 dimensions, half)


class Painter(torch.nn.Module):
    """z -> a flat 4 x 4 image: red = tanh(2 z0), green = tanh(0.1 z1); z2.. change nothing."""

    config = SimpleNamespace(latent_dim=LATENT_DIM, image_size=4)

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # images.generate asks a parameter for the device

    def forward(self, z):
        images = torch.full((len(z), 3, 4, 4), -1.0)
        images[:, 0] = torch.tanh(2 * z[:, 0])[:, None, None]
        images[:, 1] = torch.tanh(0.1 * z[:, 1])[:, None, None]
        return images


class ColourJudge:
    """p(red) and p(green) from the mean channel values: a sharp step at mid-grey."""

    attributes = {"red": ["no", "yes"], "green": ["no", "yes"]}

    def predict_proba(self, images):
        found = {}
        for index, name in enumerate(self.attributes):
            p = 1 / (1 + np.exp(-(images[..., index].mean(axis=(1, 2)) - 127.5) / 4))
            found[name] = np.stack([1 - p, p], axis=1).astype(np.float32)
        return found


def unit(index: int) -> np.ndarray:
    vector = np.zeros(LATENT_DIM, np.float32)
    vector[index] = 1
    return vector


class PlantedExplorer(Explorer):
    def components(self, k=5, samples=5000, seed=0):
        return [Component("ganspace", 0, unit(0), 0.5), Component("ganspace", 1, unit(5), 0.1)]


@pytest.fixture
def planted():
    return PlantedExplorer(Painter(), classifier=ColourJudge())


def test_naming_picks_the_attribute_the_component_changes_most(planted):
    red, idle = named_components(planted, n=200)
    # from strength 0 (red on about half the faces, z0 > 0) to +3 (on nearly all)
    assert red.attribute == "red" and 0.4 < red.change < 0.6
    assert red.title == f"PC1 · red: +{100 * red.change:.0f}% of faces"
    assert abs(red.random_change) < red.change / 2  # a random unit vector has only a part of its length along z0
    assert idle.attribute is None and idle.pixels == 0 and idle.title.startswith("PC2 · unnamed")
    assert idle.random_pixels > 0


def test_a_component_is_measured_against_a_random_direction_of_the_same_length(planted):
    z = planted.latents(range(100))
    before = observe(planted, z)
    mine = measure_step(planted, z, before, unit(0), 3.0)
    chance = measure_step(planted, z, before, random_direction(LATENT_DIM), 3.0)
    assert mine["attributes"]["red"] > 0.4 and mine["pixels"] > 2 * chance["pixels"]
    assert mine["discriminator"] is None  # no D: the pixels still measure it
    assert abs(mine["attributes"]["green"]) < 0.1
    vector = random_direction(LATENT_DIM)
    assert np.linalg.norm(vector) == pytest.approx(1.0) and np.array_equal(vector, random_direction(LATENT_DIM))
    assert is_step_figures(mine, ["red", "green"]) and not is_step_figures(mine, ["red"])
    for bad in ({**mine, "pixels": float("nan")}, {**mine, "attributes": {"red": 2.0, "green": 0.0}}, [], None):
        assert not is_step_figures(bad, ["red", "green"])


def test_the_label_is_the_measurement_the_page_shows_at_plus_step(planted):
    """One measurement: a name's figures are ``measure`` at +STEP on FACES faces from strength 0, the very figures the
    page's box reads at that strength (not a -STEP..+STEP swing on other faces)."""
    red, idle = named_components(planted)
    shown = measure(planted, red.component.vector, STEP)
    assert red.change == shown["component"]["attributes"]["red"]
    assert red.random_change == shown["random"]["attributes"]["red"]
    assert (red.pixels, red.random_pixels) == (shown["component"]["pixels"], shown["random"]["pixels"])
    assert shown["component"] is planted.effect(red.component.vector, STEP, FACES, MEASURE_SEED)  # memoised, shared
    assert share(shown["component"]["attributes"]["red"]) in red.title
    assert measure(planted, red.component.vector, 0.0)["component"]["attributes"] == {"red": 0.0, "green": 0.0}
    other = measure(planted, red.component.vector, -STEP)["component"]["attributes"]["red"]
    assert other < 0 and red.change - other > 0.9  # the old swing from -STEP to +STEP: twice the label's figure


def test_after_the_random_half_is_measured_a_new_strength_costs_one_measurement(planted, monkeypatch):
    import ganlib.explorer

    calls = []
    original = ganlib.explorer.measure_step
    monkeypatch.setattr(ganlib.explorer, "measure_step", lambda *args: calls.append(args[-1]) or original(*args))
    measure_chance(planted, (1.0, 2.0))
    assert calls == [1.0, 2.0]
    measure(planted, unit(0), 2.0)
    assert calls == [1.0, 2.0, 2.0]  # the component's only: the random direction's was kept


def test_figures_read_as_spoken_words():
    assert spoken("hair=blond") == "blond hair" and spoken("hat") == "hat"
    assert share(0.64) == "+64% of faces" and share(-0.125) == "-12% of faces" and share(0.0) == "+0% of faces"


def test_a_change_below_the_threshold_or_within_chance_is_unnamed():
    component = Component("sefa", 0, unit(0), 1.0)

    def step(red, pixels=10.0):
        return {"pixels": pixels, "discriminator": None, "attributes": {"red": red, "green": 0.0}}

    def figures(mine, chance, pixels=10.0):
        return {"component": step(mine, pixels), "random": step(chance, 4.0)}

    assert name_component(component, figures(MIN_CHANGE * 0.9, 0)).attribute is None
    assert name_component(component, figures(0.6, 0.6)).attribute is None  # chance does as much
    named = name_component(component, figures(-0.6, 0.05))
    assert named.attribute == "red" and named.change == pytest.approx(-0.6)
    assert named.title == "SeFa 1 · red: -60% of faces"
    unnamed = name_component(component, figures(0.0, 0.0, pixels=10.0))
    assert unnamed.title == "SeFa 1 · unnamed · 2.5× random" and unnamed.pixel_ratio == pytest.approx(2.5)


def test_no_classifier_measures_pixels_and_discriminator_features(tiny_checkpoint):
    explorer = Explorer.from_checkpoint(tiny_checkpoint)
    assert explorer.classifier is None and explorer.cache is not None  # a cache keyed by the checkpoint alone
    z = explorer.latents(range(20))
    before = observe(explorer, z)
    assert before.classes is None and before.features.shape[0] == 20
    same = compare(before, before, explorer.attributes)
    assert same == {"pixels": 0.0, "discriminator": 0.0, "attributes": {}}
    named = named_components(explorer, n=16)
    assert len(named) == 10 and all(item.attribute is None for item in named)
    assert all(item.title.split(" · ")[1] == "unnamed" for item in named)


def test_components_and_effects_are_kept_on_disk(tiny_checkpoint, monkeypatch, tmp_path):
    import ganlib.explorer

    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))  # other tests cache the same tiny checkpoint

    calls = {"top_components": 0, "measure_step": 0}
    for name in calls:
        original = getattr(ganlib.explorer, name)

        def counted(*args, name=name, original=original, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(ganlib.explorer, name, counted)
    first = Explorer.from_checkpoint(tiny_checkpoint)
    found = first.components()
    figures = first.effect(found[0].vector, 2.0, 16, 0)
    assert first.components() is found and first.effect(found[0].vector, 2.0, 16, 0) is figures  # memoised
    assert calls == {"top_components": 1, "measure_step": 1}
    again = Explorer.from_checkpoint(tiny_checkpoint)
    assert [c.id for c in again.components()] == [c.id for c in found]
    np.testing.assert_array_equal(again.components()[3].vector, found[3].vector)
    assert again.effect(found[0].vector, 2.0, 16, 0) == figures
    assert calls == {"top_components": 1, "measure_step": 1}  # read back from the disk cache
    for file in again.cache.folder.glob("components-*"):
        file.write_bytes(file.read_bytes()[:-8])  # damaged: ignored and computed again
    assert len(Explorer.from_checkpoint(tiny_checkpoint).components()) == 10 and calls["top_components"] == 2


def test_move_steps_along_a_vector(tiny_checkpoint):
    explorer = Explorer.from_checkpoint(tiny_checkpoint, cache=False)
    vector = np.eye(explorer.latent_dim, dtype=np.float32)[1]
    grid = explorer.move([4, 5, 6], vector, [0.0, 2.5])
    assert grid.shape == (3, 2, 32, 32, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[:, 0], explorer.images_for_seeds([4, 5, 6]))
    np.testing.assert_array_equal(grid[:, 1], explorer.images(explorer.latents([4, 5, 6]) + 2.5 * torch.tensor(vector)))
