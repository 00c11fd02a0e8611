"""The judge that every figure of the report is read by: a classifier of generated and real images.

A judge has ``attributes`` ({name: classes}), ``predict_proba(images)`` ({name: [N, classes]}) and
``features(images)`` ([N, F], the space the Fréchet distance is measured in). ``choose_judge`` takes the first of:
a classifier file or object the user names, the attribute classifier ganlib bundles for the checkpoint's data set,
or a ``PixelJudge`` fitted here on the real images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..classifier import load_bundled_classifier, load_classifier


class PixelJudge:
    """Stand-in for the attribute classifier on data sets without one: PCA of the pixels (at most 32 x 32) as
    the feature space, and a logistic regression on those features per labelled attribute. Same interface as
    ganlib.classifier.AttributeClassifier: ``attributes``, ``predict_proba(images)``, ``features(images)``."""

    def __init__(self, pca, models: dict, attributes: dict[str, list[str]], accuracy: dict[str, float]):
        self.pca, self.models, self.attributes, self.accuracy = pca, models, attributes, accuracy

    @staticmethod
    def _pixels(images: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-1] > 32:
            x = torch.nn.functional.interpolate(x, size=(32, 32), mode="area")
        return x.flatten(1).numpy()

    @classmethod
    def fit(
        cls, images: np.ndarray, labels: dict[str, np.ndarray], attributes: dict, seed: int = 0, components: int = 64
    ) -> PixelJudge:
        """Fit on uint8 [N, H, W, 3] real images; each attribute's model is scored on a held-out fifth."""
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression

        pixels = cls._pixels(images)
        pca = PCA(n_components=min(components, len(pixels) - 1, pixels.shape[1]), random_state=seed).fit(pixels)
        features = pca.transform(pixels)
        scale = features.std(axis=0) + 1e-8
        held_out = np.random.default_rng(seed).random(len(pixels)) < 0.2
        models, kept, accuracy = {}, {}, {}
        for name, values in labels.items():
            values = np.asarray(values)
            if len(np.unique(values[~held_out])) < 2:
                continue  # one class only: nothing to tell apart
            model = LogisticRegression(max_iter=2000).fit(features[~held_out] / scale, values[~held_out])
            models[name] = (model, scale)
            kept[name] = [str(c) for c in attributes[name]]
            accuracy[name] = (
                float(model.score(features[held_out] / scale, values[held_out])) if held_out.any() else math.nan
            )
        return cls(pca, models, kept, accuracy)

    def features(self, images: np.ndarray) -> np.ndarray:
        return self.pca.transform(self._pixels(images))

    def predict_proba(self, images: np.ndarray) -> dict[str, np.ndarray]:
        features = self.features(images)
        result = {}
        for name, (model, scale) in self.models.items():
            probabilities = np.zeros((len(features), len(self.attributes[name])))
            probabilities[:, model.classes_] = model.predict_proba(features / scale)  # classes absent in training
            result[name] = probabilities
        return result


def _accuracy(classifier):
    return (getattr(classifier, "metadata", None) or {}).get("accuracy")


def choose_judge(metadata: dict, classifier, real_images, labels, attributes, seed) -> tuple[object, dict]:
    """(judge, {"kind": what it is, "held_out_accuracy": ...}) for a checkpoint with this metadata; ``classifier``
    is what the user named (a file, an object, or None)."""
    if isinstance(classifier, (str, Path)):
        loaded = load_classifier(classifier)
        return loaded, {"kind": f"attribute classifier {classifier}", "held_out_accuracy": _accuracy(loaded)}
    if classifier is not None:
        return classifier, {"kind": "given attribute classifier", "held_out_accuracy": _accuracy(classifier)}
    bundled = load_bundled_classifier((metadata.get("dataset") or {}).get("name", ""))
    if bundled is not None:
        return bundled, {"kind": "bundled attribute classifier", "held_out_accuracy": _accuracy(bundled)}
    judge = PixelJudge.fit(real_images, labels, attributes, seed)
    return judge, {
        "kind": f"pixel PCA ({judge.pca.n_components_} components) + logistic regression, "
        f"fitted on {len(real_images)} real images",
        "held_out_accuracy": judge.accuracy,
    }
