"""One object that turns plain values (seeds, strengths, methods) into images and numbers.

The dashboard keeps only plain values in its state and hands them to an Explorer; every tensor lives here.
This is the StyleGAN3-visualizer split: the UI writes values, one renderer turns them into pictures.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from . import budget
from .checkpoint import load_discriminator, load_generator
from .classifier import BUNDLED, load_bundled_classifier
from .component_effects import is_step_figures, measure_step, observe
from .components import GANSPACE_SAMPLES, Component, K, top_components
from .direction_cache import DirectionCache
from .directions import (
    METHODS,
    SIDES,
    binary_attributes,
    classify_latents,
    edit_latents,
    find_direction,
    measure_edit,
    parse_attribute,
)
from .guided_edit import keep_person_rows, measure_keep_person
from .images import generate, to_uint8
from .latent import interpolation_path, latents_for_seeds, truncate

LABEL_BLOCK = 250  # seeds labelled (generated and classified) together, and kept in memory and on disk together
MAX_MEMO = 1000  # label blocks, directions and measured edits kept in memory (a block is 28 KB for ToonFaces)


class Explorer:
    def __init__(self, generator, discriminator=None, classifier=None, cache: DirectionCache | None = None):
        self.generator = generator.eval()
        self.discriminator = discriminator.eval() if discriminator is not None else None
        self.classifier = classifier  # ganlib.classifier.AttributeClassifier or None
        self.metadata: dict = getattr(generator, "metadata", {})
        # labels, directions and measured edits on disk (ganlib.direction_cache); None keeps them in memory only
        self.cache = cache
        self._memo: OrderedDict[tuple, object] = OrderedDict()  # label blocks, directions, measured edits
        self._computing: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    def from_checkpoint(cls, path, cache: bool = True) -> Explorer:
        """Load G (and D when the file has it) and, for known data sets, the bundled attribute classifier. With
        ``cache``, labels, directions, components and measured edits are kept on disk (ganlib.direction_cache),
        keyed by the content of the checkpoint and of the classifier, where there is one."""
        generator = load_generator(path)
        dataset = (generator.metadata.get("dataset") or {}).get("name", "")
        classifier = load_bundled_classifier(dataset)
        store = DirectionCache.for_files(path, BUNDLED[dataset] if classifier is not None else None) if cache else None
        return cls(generator, load_discriminator(path), classifier, store)

    # ------------------------------------------------------------------ description
    @property
    def latent_dim(self) -> int:
        return self.generator.config.latent_dim

    @property
    def image_size(self) -> int:
        return self.generator.config.image_size

    @property
    def dataset_name(self) -> str:
        return self.metadata.get("dataset", {}).get("name", "unknown")

    @property
    def attributes(self) -> dict[str, list[str]]:
        """Attribute name -> class names that this explorer can score (needs a classifier)."""
        return dict(self.classifier.attributes) if self.classifier is not None else {}

    # ------------------------------------------------------------------ latents and images
    def latents(self, seeds: Sequence[int], truncation: float = 1.0) -> torch.Tensor:
        return truncate(latents_for_seeds(seeds, self.latent_dim), truncation)

    @property
    def batch_size(self) -> int:
        """Images per pass through G (and D): as many as fit ganlib.budget.BATCH_BYTES of this model's activations."""
        return budget.batch_size(self._bytes_per_image())

    def _bytes_per_image(self) -> int:
        return self._once(("bytes_per_image",), lambda: budget.bytes_per_image(*self._networks()))

    def cost(self) -> budget.Cost:
        """What one image costs this model on this machine (G, D and the classifier where there are), measured once:
        what pages compare with ganlib.budget.REQUEST_SECONDS before they compute anything on arrival. Its memory
        figure is the one batch_size uses, read once per model."""
        classify = self.attribute_probabilities if self.classifier is not None else None
        seconds = lambda: budget.seconds_per_image(*self._networks(), classify)  # noqa: E731
        return self._once(("cost",), lambda: budget.Cost(seconds(), self._bytes_per_image()))

    def _networks(self) -> tuple:
        return self.generator, self.discriminator

    def images(self, z: torch.Tensor) -> np.ndarray:
        """uint8 [N, H, W, 3], generated self.batch_size at a time."""
        return generate(self.generator, z, self.batch_size)

    def images_for_seeds(self, seeds: Sequence[int], truncation: float = 1.0) -> np.ndarray:
        return self.images(self.latents(seeds, truncation))

    @torch.no_grad()
    def images_and_scores(self, z: torch.Tensor, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 images and D(G(z)) from one pass of G (D scores are None without a discriminator)."""
        batch_size = batch_size or self.batch_size
        images, scores = [], []
        for start in range(0, len(z), batch_size):
            fake = self.generator(z[start : start + batch_size])
            images.append(to_uint8(fake))
            if self.discriminator is not None:
                scores.append(self.discriminator.probability(fake))
        size = self.image_size
        pictures = np.concatenate(images) if images else np.zeros((0, size, size, 3), np.uint8)
        if self.discriminator is None:
            return pictures, None
        return pictures, torch.cat(scores).numpy() if scores else np.zeros(0, np.float32)

    def attribute_probabilities(self, images: np.ndarray) -> dict[str, np.ndarray] | None:
        """{attribute: [N, classes]} class probabilities from the classifier; None without one."""
        if self.classifier is None:
            return None
        return self.classifier.predict_proba(images)

    def interpolate(self, points: torch.Tensor, frames: int, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Images along a path through the points, and the norm ||z|| of every frame."""
        path = interpolation_path(points, frames, method)
        return self.images(path), path.norm(dim=1).numpy()

    # ------------------------------------------------------------------ attribute directions (ganlib.directions)
    def binary_attributes(self) -> list[str]:
        """Editable attributes: the yes/no ones by name, the others one class at a time ("hair=blond")."""
        return binary_attributes(self.attributes)

    def _once(self, key: tuple, compute):
        """The value memoised under ``key``, computed by one thread while others asking for it wait (the
        dashboard's warm-up thread and a page may ask at once); different keys compute side by side."""
        with self._guard:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._memo:
                    return self._memo[key]
            value = compute()
            with self._guard:
                self._memo[key] = value
                self._computing.pop(key, None)
                while len(self._memo) > MAX_MEMO:
                    self._memo.popitem(last=False)
        return value

    def labels(self, first: int, count: int) -> dict[str, np.ndarray]:
        """The classifier's probabilities {attribute: [count, classes]} for the images of seeds first ..
        first+count-1 (truncation 1), exactly as ganlib.directions.label_latents gives them (an image does not
        depend on its batch). Labelled LABEL_BLOCK seeds at a time, once per explorer, and kept on disk when it has
        a cache: the 2,000 seeds of every direction and the exemplar searches over them then generate nothing."""
        if self.classifier is None:
            raise ValueError(f"no attribute classifier for data set {self.dataset_name!r}")
        if count < 1 or first < 0:
            raise ValueError(f"need count >= 1 and first >= 0, got {count} and {first}")
        blocks = range(first // LABEL_BLOCK, (first + count - 1) // LABEL_BLOCK + 1)
        parts = [self._once(("labels", block), lambda block=block: self._label_block(block)) for block in blocks]
        offset = first - blocks[0] * LABEL_BLOCK
        return {name: np.concatenate([part[name] for part in parts])[offset : offset + count] for name in parts[0]}

    def _label_block(self, block: int) -> dict[str, np.ndarray]:
        first = block * LABEL_BLOCK
        found = self.cache.labels(first, LABEL_BLOCK, self.attributes) if self.cache else None
        if found is None:
            found = classify_latents(self, self.latents(range(first, first + LABEL_BLOCK)))
            if self.cache:
                self.cache.store_labels(first, LABEL_BLOCK, found)
        return found

    def labelled(self, n: int, seed: int) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
        """(latents, probabilities) of seeds seed .. seed+n-1: what ganlib.directions.label_latents returns."""
        return self.latents(range(seed, seed + n)), self.labels(seed, n)

    def direction(
        self,
        attribute: str,
        method: str = "mean_difference",
        conditional: bool = False,
        n: int = 2000,
        seed: int = 0,
        labelled: tuple | None = None,
    ):
        """ganlib.directions.Direction for an attribute, computed once per set of arguments (and kept on disk with
        a cache): the dashboard asks again on every rerun. ``labelled``: seeds seed..seed+n-1 labelled already, as
        ganlib.directions.find_direction takes them; it is data, not part of the key. Without it the seeds' labels
        come from ``labels``, computed once and shared by every attribute and method."""
        key = {
            "attribute": attribute,
            "method": method,
            "conditional": bool(conditional),
            "n": int(n),
            "seed": int(seed),
        }

        def compute():
            found = self.cache.direction(key, self.latent_dim) if self.cache else None
            if found is None:
                seeds = labelled
                if seeds is None and self.classifier is not None and method in METHODS:
                    parse_attribute(attribute, self.attributes)  # a typo fails before anything is generated
                    seeds = self.labelled(n, seed)
                found = find_direction(self, attribute, method, n=n, seed=seed, conditional=conditional, labelled=seeds)
                if self.cache:
                    self.cache.store_direction(key, found)
            return found

        return self._once(("direction", *key.values()), compute)

    def measure(self, direction, strength: float, n: int, seed: int, sides: tuple[str, ...] = SIDES) -> dict:
        """ganlib.directions.measure_edit on seeds seed..seed+n-1, computed once per direction (by its vector),
        strength, n, seed and sides, and kept on disk with a cache."""
        key = _measure_key(direction, direction.method, strength, n, seed, sides)

        def compute():
            found = self.cache.measurement(key) if self.cache else None
            if found is None:
                labelled = self.labelled(n, seed)
                found = measure_edit(self, direction, strength, n=n, seed=seed, labelled=labelled, sides=sides)
                if self.cache:
                    self.cache.store_measurement(key, found)
            return found

        return self._once(("measure", json.dumps(key, sort_keys=True)), compute)

    def edit(self, seeds: Sequence[int], direction, strengths: Sequence[float], truncation: float = 1.0) -> np.ndarray:
        """uint8 [len(seeds), len(strengths), H, W, 3]: row i is seed i moved by each strength (in class-mean
        distances) along ``direction`` (a Direction, or an attribute name for the default direction)."""
        return self.edit_latent_vectors(self.latents(seeds, truncation), direction, strengths)

    def edit_latent_vectors(self, z: torch.Tensor, direction, strengths: Sequence[float]) -> np.ndarray:
        """``edit`` for any latents [N, d] (projected ones, say): uint8 [N, len(strengths), H, W, 3]."""
        if isinstance(direction, str):
            direction = self.direction(direction)
        strengths = [float(s) for s in strengths]
        edited = torch.cat([edit_latents(z, direction, s) for s in strengths]) if len(z) and strengths else z[:0]
        return self._rows(edited, len(z), len(strengths))

    def move(self, seeds: Sequence[int], vector, steps: Sequence[float]) -> np.ndarray:
        """uint8 [len(seeds), len(steps), H, W, 3]: row i is seed i moved by each step along ``vector`` (z + step *
        vector; a unit vector such as a Component's makes the steps standard deviations of z)."""
        return self.move_latent_vectors(self.latents(seeds), vector, steps)

    def move_latent_vectors(self, z: torch.Tensor, vector, steps: Sequence[float]) -> np.ndarray:
        """``move`` for any latents [N, d] (projected ones, say)."""
        vector = torch.as_tensor(np.asarray(vector, np.float32))
        edited = torch.cat([z + float(step) * vector for step in steps]) if len(z) and len(steps) else z[:0]
        return self._rows(edited, len(z), len(steps))

    def edit_keeping_person(self, z: torch.Tensor, direction, strengths: Sequence[float]) -> np.ndarray:
        """``edit_latent_vectors``, then ganlib.guided_edit.keep_person's gradient steps from each edited face:
        uint8 [N, len(strengths), H, W, 3]. About 20 passes of G, D and the classifier per face and strength."""
        strengths = [float(s) for s in strengths]
        return self._rows(keep_person_rows(self, z, direction, strengths), len(z), len(strengths))

    def measure_keeping_person(self, direction, strength: float, n: int, seed: int, sides=SIDES) -> dict:
        """ganlib.guided_edit.measure_keep_person, judged by the bundled classifier and the second judge where
        there is one; computed once per direction, strength, n, seed and sides, and kept on disk with a cache."""
        key = _measure_key(direction, "keep_person", strength, n, seed, sides)

        def compute():
            found = self.cache.measurement(key) if self.cache else None
            if found is None:
                second = load_bundled_classifier(self.dataset_name, second=True)
                found = measure_keep_person(self, direction, strength, n, seed, sides, second_judge=second)
                if self.cache:
                    self.cache.store_measurement(key, found)
            return found

        return self._once(("measure", json.dumps(key, sort_keys=True)), compute)

    def _rows(self, edited: torch.Tensor, faces: int, variants: int) -> np.ndarray:
        images = self.images(edited)  # variant-major: [variants * faces, H, W, 3]
        images = images.reshape(variants, faces, *images.shape[1:])
        return np.ascontiguousarray(images.swapaxes(0, 1))

    # ------------------------------------------------------------------ components (ganlib.components)
    def components(self, k: int = K, samples: int = GANSPACE_SAMPLES, seed: int = 0) -> list[Component]:
        """The top k SeFa and GANSpace components, computed once (GANSpace reads `samples` latents: about 3 s for
        a 64-px G here) and kept on disk with a cache."""
        key = {"k": int(k), "samples": int(samples), "seed": int(seed)}

        def compute():
            found = self.cache.components(key, self.latent_dim) if self.cache else None
            if found is None:
                found = top_components(self.generator, k, samples, seed)
                if self.cache:
                    self.cache.store_components(key, found)
            return found

        return self._once(("components", *key.values()), compute)

    def effect(self, vector, strength: float, n: int, seed: int) -> dict:
        """ganlib.component_effects.measure_step on seeds seed..seed+n-1 moved by strength * vector (a unit vector),
        computed once per vector, strength, n and seed, and kept on disk with a cache. The unmoved faces are
        generated and read once for every vector and strength."""
        vector = np.asarray(vector, np.float32)
        key = {
            "effect": hashlib.sha256(vector.tobytes()).hexdigest()[:32],
            "strength": float(strength),
            "n": int(n),
            "seed": int(seed),
        }

        def compute():
            found = self.cache.measurement(key) if self.cache else None
            if found is None or not is_step_figures(found, self.binary_attributes()):
                z, before = self._once(("observed", int(n), int(seed)), lambda: self._observed(n, seed))
                found = measure_step(self, z, before, vector, strength)
                if self.cache:
                    self.cache.store_measurement(key, found)
            return found

        return self._once(("effect", json.dumps(key, sort_keys=True)), compute)

    def _observed(self, n: int, seed: int):
        z = self.latents(range(seed, seed + n))
        return z, observe(self, z)


def _measure_key(direction, method: str, strength: float, n: int, seed: int, sides) -> dict:
    """What a measured edit depends on: the direction (by its vector), the editing method, strength, faces, sides."""
    return {
        "direction": hashlib.sha256(np.asarray(direction.vector, np.float32).tobytes()).hexdigest()[:32],
        "attribute": direction.attribute,
        "method": method,
        "class_distance": repr(float(direction.class_distance)),
        "strength": float(strength),
        "n": int(n),
        "seed": int(seed),
        "sides": list(sides),
    }
