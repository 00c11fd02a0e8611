"""One object that turns plain values (seeds, strengths, methods) into images and numbers.

The dashboard keeps only plain values in its state and hands them to an Explorer; every tensor lives here.
This is the StyleGAN3-visualizer split: the UI writes values, one renderer turns them into pictures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .checkpoint import load_discriminator, load_generator
from .images import generate
from .latent import interpolation_path, latents_for_seeds, truncate


class Explorer:
    def __init__(self, generator, discriminator=None, classifier=None):
        self.generator = generator.eval()
        self.discriminator = discriminator.eval() if discriminator is not None else None
        self.classifier = classifier  # ganlib.classifier.AttributeClassifier or None
        self.metadata: dict = getattr(generator, "metadata", {})

    @classmethod
    def from_checkpoint(cls, path) -> "Explorer":
        """Load G (and D when the file has it) and, for known data sets, the bundled attribute classifier."""
        generator = load_generator(path)
        return cls(generator, load_discriminator(path), _find_classifier(generator.metadata, Path(path)))

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
    def discriminator_scores(self, z: torch.Tensor) -> np.ndarray | None:
        """D(G(z)) per latent: the discriminator's probability that the image is real; None without a D."""
        if self.discriminator is None:
            return None
        scores = [self.discriminator.probability(self.generator(z[i:i + 256])) for i in range(0, len(z), 256)]
        return torch.cat(scores).numpy() if scores else np.zeros(0)

    def attribute_probabilities(self, images: np.ndarray) -> dict[str, np.ndarray] | None:
        """{attribute: [N, classes]} class probabilities from the classifier; None without one."""
        if self.classifier is None:
            return None
        return self.classifier.predict_proba(images)

    def interpolate(self, points: torch.Tensor, frames: int, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Images along a path through the points, and the norm ||z|| of every frame."""
        path = interpolation_path(points, frames, method)
        return self.images(path), path.norm(dim=1).numpy()


def _find_classifier(metadata: dict, checkpoint_path: Path):
    """The attribute classifier bundled for this checkpoint's data set, if ganlib ships one."""
    try:
        from .classifier import load_bundled_classifier
    except ImportError:  # the classifier module is optional: explorers work without attribute scores
        return None
    return load_bundled_classifier(metadata.get("dataset", {}).get("name", ""), checkpoint_path)
