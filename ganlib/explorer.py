"""One object that turns plain values (seeds, strengths, methods) into images and numbers.

The dashboard keeps only plain values in its state and hands them to an Explorer; every tensor lives here.
This is the StyleGAN3-visualizer split: the UI writes values, one renderer turns them into pictures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .checkpoint import load_discriminator, load_generator
from .classifier import load_bundled_classifier
from .directions import binary_attributes, edit_latents, find_direction
from .images import generate, to_uint8
from .latent import interpolation_path, latents_for_seeds, truncate


class Explorer:
    def __init__(self, generator, discriminator=None, classifier=None):
        self.generator = generator.eval()
        self.discriminator = discriminator.eval() if discriminator is not None else None
        self.classifier = classifier  # ganlib.classifier.AttributeClassifier or None
        self.metadata: dict = getattr(generator, "metadata", {})

    @classmethod
    def from_checkpoint(cls, path) -> Explorer:
        """Load G (and D when the file has it) and, for known data sets, the bundled attribute classifier."""
        generator = load_generator(path)
        dataset = (generator.metadata.get("dataset") or {}).get("name", "")
        return cls(generator, load_discriminator(path), load_bundled_classifier(dataset))

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

    def images(self, z: torch.Tensor) -> np.ndarray:
        """uint8 [N, H, W, 3]."""
        return generate(self.generator, z)

    def images_for_seeds(self, seeds: Sequence[int], truncation: float = 1.0) -> np.ndarray:
        return self.images(self.latents(seeds, truncation))

    @torch.no_grad()
    def images_and_scores(self, z: torch.Tensor, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8 images and D(G(z)) from one pass of G (D scores are None without a discriminator)."""
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

    def discriminator_scores(self, z: torch.Tensor) -> np.ndarray | None:
        """D(G(z)) per latent: the discriminator's probability that the image is real; None without a D."""
        return self.images_and_scores(z)[1]

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

    def direction(
        self,
        attribute: str,
        method: str = "mean_difference",
        conditional: bool = False,
        n: int = 2000,
        seed: int = 0,
        labelled: tuple | None = None,
    ):
        """ganlib.directions.Direction for an attribute, computed once per set of arguments (labelling n
        samples takes seconds; the dashboard asks again on every rerun). ``labelled``: seeds seed..seed+n-1
        labelled already, as ganlib.directions.find_direction takes them; it is data, not part of the key."""
        key = (attribute, method, bool(conditional), int(n), int(seed))
        memo = self.__dict__.setdefault("_directions", {})
        if key not in memo:
            memo[key] = find_direction(
                self, attribute, method, n=n, seed=seed, conditional=conditional, labelled=labelled
            )
        return memo[key]

    def edit(self, seeds: Sequence[int], direction, strengths: Sequence[float], truncation: float = 1.0) -> np.ndarray:
        """uint8 [len(seeds), len(strengths), H, W, 3]: row i is seed i moved by each strength (in class-mean
        distances) along ``direction`` (a Direction, or an attribute name for the default direction)."""
        if isinstance(direction, str):
            direction = self.direction(direction)
        z = self.latents(seeds, truncation)
        strengths = [float(s) for s in strengths]
        edited = torch.cat([edit_latents(z, direction, s) for s in strengths]) if len(z) and strengths else z[:0]
        images = self.images(edited)  # strength-major: [len(strengths) * len(seeds), H, W, 3]
        images = images.reshape(len(strengths), len(z), *images.shape[1:])
        return np.ascontiguousarray(images.swapaxes(0, 1))
