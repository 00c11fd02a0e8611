"""What a direction found without labels does, measured: faces moved along it, next to a random direction of the
same length, and the name of the attribute it changes most.

Where a classifier exists it reads how often each attribute is seen before and after: "hat: +64% of faces" means
that the classifier sees a hat on 64 more of every 100 faces after the move than before. Two measures need no
labels, so that on digits or a user's own data a component still shows it does more than chance: the mean pixel
change (grey levels out of 255) and the change of D's features (relative to their size).

Strengths are steps in z along a unit vector. Since z ~ N(0, I), its coordinate along any unit vector has standard
deviation 1: strength 3 moves a face three standard deviations along the component, to the edge of what G saw in
training. ``measure`` is the one measurement behind every figure: the same FACES faces, moved from strength 0 to a
strength; a component's name and label are ``measure`` at +STEP, the figure the page's box shows at +STEP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .components import Component
from .directions import DEFAULT_MEASURE_SEED, binary_attributes, parse_attribute
from .images import to_uint8

STEP = 3.0  # names and labels: faces moved from 0 to +STEP, the strength slider's edge
FACES = 64  # the faces every figure is read from, names and the live box alike: 0.3 s per direction and strength
# for a 64-px G, D and classifier on one busy core here
MIN_CHANGE = 0.3  # a name needs 30% of faces: a random direction moves some attribute by up to 28% at +-3 on
# toonfaces64 (five random directions, measured with ``measure``) ...
OVER_RANDOM = 1.5  # ... and 1.5 times what the random direction does to it (one random draw is noisy)
MEASURE_SEED = DEFAULT_MEASURE_SEED + 500_000  # ganlib evaluate's unsupervised faces: no direction was fitted on them
RANDOM_SEED = 0  # the random direction's seed: one fixed direction, so every figure compares with the same one


@dataclass(frozen=True)
class Observation:
    """What the measures read from a batch of faces."""

    images: np.ndarray  # uint8 [N, H, W, 3]
    features: np.ndarray | None  # D's pooled features [N, F]; None without a discriminator
    classes: dict[str, np.ndarray] | None  # attribute -> the classifier's class per face [N]; None without one


@torch.no_grad()
def observe(explorer, z: torch.Tensor, batch_size: int | None = None) -> Observation:
    """Generate the faces of z once and read them with D and the classifier, where the explorer has them, in
    batches of ``batch_size`` (by default the explorer's, which fits ganlib.budget's memory budget)."""
    batch_size = batch_size or explorer.batch_size
    images, features = [], []
    for start in range(0, len(z), batch_size):
        fake = explorer.generator(z[start : start + batch_size])
        images.append(to_uint8(fake))
        if explorer.discriminator is not None:
            features.append(explorer.discriminator.embed(fake).double().numpy())
    images = np.concatenate(images)
    probabilities = explorer.attribute_probabilities(images)
    return Observation(
        images,
        np.concatenate(features) if features else None,
        {name: values.argmax(axis=1) for name, values in probabilities.items()} if probabilities else None,
    )


def frequencies(observation: Observation, attributes: dict[str, list[str]]) -> dict[str, float]:
    """How often the classifier sees each yes/no attribute and each class of the others ("hair=blond")."""
    if observation.classes is None:
        return {}
    found = {}
    for attribute in binary_attributes(attributes):
        name, index = parse_attribute(attribute, attributes)
        found[attribute] = float((observation.classes[name] == index).mean())
    return found


def compare(before: Observation, after: Observation, attributes: dict[str, list[str]]) -> dict:
    """{"pixels": mean |change| in grey levels, "discriminator": mean |change of D's features| / mean |features|
    (None without D), "attributes": {attribute: frequency after - before}} over the same faces."""
    pixels = float(np.abs(after.images.astype(np.float32) - before.images.astype(np.float32)).mean())
    discriminator = None
    if before.features is not None and after.features is not None:
        size = float(np.linalg.norm(before.features, axis=1).mean())
        discriminator = float(np.linalg.norm(after.features - before.features, axis=1).mean()) / max(size, 1e-12)
    old, new = frequencies(before, attributes), frequencies(after, attributes)
    return {"pixels": pixels, "discriminator": discriminator, "attributes": {a: new[a] - old[a] for a in new}}


def is_step_figures(figures, attributes: list[str]) -> bool:
    """Whether ``figures`` (read back from a cache file, so untrusted) has ``compare``'s form for these
    attributes, with finite values in range."""

    def finite(value, low: float, high: float) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high

    if not isinstance(figures, dict) or set(figures) != {"pixels", "discriminator", "attributes"}:
        return False
    changes = figures["attributes"]
    return (
        finite(figures["pixels"], 0, 255)
        and (figures["discriminator"] is None or finite(figures["discriminator"], 0, 1e6))
        and isinstance(changes, dict)
        and set(changes) == set(attributes)
        and all(finite(value, -1, 1) for value in changes.values())
    )


def random_direction(latent_dim: int, seed: int = RANDOM_SEED) -> np.ndarray:
    """A unit vector drawn uniformly from the sphere: the baseline every measured direction is shown beside."""
    vector = torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed)).double().numpy()
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def measure_step(explorer, z: torch.Tensor, before: Observation, vector: np.ndarray, strength: float) -> dict:
    """``compare`` for the faces z moved by strength * vector (a unit vector)."""
    step = float(strength) * torch.as_tensor(np.asarray(vector, np.float32))
    return compare(before, observe(explorer, z + step), explorer.attributes)


def measure(explorer, vector, strength: float, n: int = FACES, seed: int = MEASURE_SEED) -> dict:
    """The one measurement behind a component's label and the page's box: {"component": ``compare``'s figures for
    faces seed..seed+n-1 moved from 0 to ``strength`` along ``vector`` (a unit vector), "random": the same faces
    moved as far along the fixed random direction}. Memoised by the explorer, and kept on disk with its cache, so the
    box at +STEP reads back the very figures a label was made from."""
    return {
        "component": explorer.effect(vector, strength, n, seed),
        "random": explorer.effect(random_direction(explorer.latent_dim), strength, n, seed),
    }


def measure_chance(explorer, strengths, n: int = FACES, seed: int = MEASURE_SEED) -> None:
    """``measure``'s random half at each of ``strengths``, ahead of a visitor (a server's idle warm-up): every
    component shares it, so a strength the slider has not reached yet then costs one measurement, not two."""
    vector = random_direction(explorer.latent_dim)
    for strength in strengths:
        explorer.effect(vector, strength, n, seed)


def spoken(attribute: str) -> str:
    """An attribute as a speaker says it: "hair=blond" -> "blond hair"; "hat" stays "hat"."""
    name, _, value = attribute.partition("=")
    return f"{value} {name}" if value else name


def share(change: float) -> str:
    """A frequency change in words: 0.64 -> "+64% of faces" (the classifier sees the attribute on 64 more of every
    100 faces). The label and the box both print it this way, so the same figure reads the same."""
    return f"{100 * change:+.0f}% of faces"


@dataclass(frozen=True)
class NamedComponent:
    component: Component
    attribute: str | None  # what it changes most, None ("unnamed") without a classifier or a clear change
    change: float  # that attribute's frequency change from 0 to +STEP (the largest one, when unnamed)
    random_change: float  # the same attribute's change along the random direction
    pixels: float  # mean pixel change at +STEP, grey levels
    random_pixels: float  # the same for the random direction

    @property
    def title(self) -> str:
        """ "SeFa 3 · hat: +64% of faces", or "SeFa 2 · unnamed · 2.6× random": its pixel change over the random
        direction's, so that even an unnamed component shows it does more than chance."""
        if self.attribute is not None:
            return f"{self.component.label} · {spoken(self.attribute)}: {share(self.change)}"
        return f"{self.component.label} · unnamed · {self.pixel_ratio:.1f}× random"

    @property
    def pixel_ratio(self) -> float:
        return self.pixels / max(self.random_pixels, 1e-12)


def name_component(component: Component, figures: dict) -> NamedComponent:
    """Name a component from ``measure``'s figures at +STEP: the attribute whose frequency moves most, when that move
    is at least MIN_CHANGE and more than OVER_RANDOM times the random direction's."""
    changes, chance = figures["component"]["attributes"], figures["random"]["attributes"]
    top = max(changes, key=lambda a: abs(changes[a])) if changes else None
    clear = top is not None and abs(changes[top]) >= MIN_CHANGE and abs(changes[top]) > OVER_RANDOM * abs(chance[top])
    return NamedComponent(
        component,
        top if clear else None,
        changes[top] if top else 0.0,
        chance[top] if top else 0.0,
        figures["component"]["pixels"],
        figures["random"]["pixels"],
    )


def named_components(explorer, n: int = FACES, seed: int = MEASURE_SEED) -> list[NamedComponent]:
    """The explorer's top SeFa and GANSpace components, each named from ``measure`` at +STEP."""
    return [name_component(c, measure(explorer, c.vector, STEP, n, seed)) for c in explorer.components()]
