"""``ganlib evaluate CKPT``: how good are the samples, and how well does latent arithmetic work, in numbers.

Everything is judged by a classifier: the bundled attribute classifier where ganlib ships one (toonfaces), else a
small one fitted here on the real images (PCA of the pixels + logistic regression per labelled attribute; with no
labels, only the PCA, for the Fréchet distance). The report has one block per question:

- quality: Fréchet distance (FD) between n generated and n real images in the judge's feature space, the FD
  between two disjoint real sets of the same size (what "as good as real" scores), and their ratio;
- attributes and coverage: how often each attribute/class appears in real and generated images;
- arithmetic: for each yes/no attribute and each way of finding its direction (ganlib.directions), how often
  adding / removing it at one strength works and keeps the other attributes, a strength sweep, a random
  direction of the same length as the baseline, and per-face strengths with conditional directions;
- entanglement: cosines between attribute directions, and what conditional (orthogonalised) directions change;
- unsupervised: the top SeFa and GANSpace directions and the attribute each one changes most.

Generated faces for measuring use seeds from ``ganlib.directions.DEFAULT_MEASURE_SEED + seed``, directions are
fitted on seeds ``seed .. seed + n - 1``: the two never overlap. ToonFaces real images are rendered with seed
``3 + seed`` (the GAN trained on seed-0 renders, the classifier on seeds 1 and 2).
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_generator
from .directions import (CONFIDENT, DEFAULT_MEASURE_SEED, keep_rates, attribute_probability, classify_latents,
                         measure_edit, parse_attribute, per_face_strength)
from .explorer import Explorer
from .frechet import frechet_distance
from .targets import EDIT_ATTRIBUTE, met_count, text_lines

METHODS = ("exemplar3", "mean_difference", "svm")
CONDITIONAL_METHODS = ("mean_difference", "svm")  # exemplar triples are too noisy to condition on
PER_FACE_METHOD = "mean_difference"  # the dashboard's default direction
SUMMARY_METHOD = "mean_difference"
SWEEP_STRENGTHS = (0.5, 1.0, 2.0, 3.0)
PER_FACE_TARGET, PER_FACE_MAX_STRENGTH, PER_FACE_STEPS = 0.9, 4.0, 16
UNSUPERVISED_K, UNSUPERVISED_STEP, UNSUPERVISED_FACES = 5, 3.0, 200
REAL_TOONFACES_SEED = 3
CHUNK = 512  # ganlib.directions.classify_latents's batch: the memo below sees the same chunks


# ---------------------------------------------------------------- judges

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
    def fit(cls, images: np.ndarray, labels: dict[str, np.ndarray], attributes: dict, seed: int = 0,
            components: int = 64) -> "PixelJudge":
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
            accuracy[name] = float(model.score(features[held_out] / scale, values[held_out])) if held_out.any() else math.nan
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


class _MemoExplorer(Explorer):
    """An Explorer that keeps the images and probabilities of a few pinned latent sets. find_direction and
    measure_edit relabel the same seeds on every call; pinning those sets saves a fifth of evaluate's work."""

    def __init__(self, generator, classifier):
        super().__init__(generator, None, classifier)
        self._pinned_images: dict = {}
        self._pinned_probabilities: dict = {}

    @staticmethod
    def _key(array) -> tuple:
        array = np.ascontiguousarray(array)
        return array.shape, hashlib.blake2b(array.tobytes(), digest_size=16).digest()

    def pin(self, z: torch.Tensor) -> None:
        """Remember the images and probabilities of z, chunked as ganlib.directions.classify_latents chunks."""
        for start in range(0, len(z), CHUNK):
            chunk = z[start:start + CHUNK]
            key = self._key(chunk.numpy())
            if key not in self._pinned_images:
                self._pinned_images[key] = super().images(chunk)
            images = self._pinned_images[key]
            key = self._key(images)
            if key not in self._pinned_probabilities:
                self._pinned_probabilities[key] = super().attribute_probabilities(images)

    def images(self, z):
        pinned = self._pinned_images.get(self._key(torch.as_tensor(z).detach().cpu().numpy()))
        return pinned if pinned is not None else super().images(z)

    def attribute_probabilities(self, images):
        pinned = self._pinned_probabilities.get(self._key(images))
        return pinned if pinned is not None else super().attribute_probabilities(images)


# ---------------------------------------------------------------- real images

def _rgb(images: torch.Tensor) -> np.ndarray:
    """uint8 [N, C, H, W] -> [N, H, W, 3], grayscale repeated, as ganlib.images.to_uint8 does for G's output."""
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    return images.permute(0, 2, 3, 1).contiguous().numpy()


def real_source(metadata: dict, data: str | None = None) -> tuple[str, str]:
    """(data set name or folder path, data_root) the checkpoint was trained on; ``data`` overrides the name."""
    config = (metadata.get("training") or {}).get("config") or {}
    name = data or config.get("dataset") or (metadata.get("dataset") or {}).get("name") or ""
    return name, config.get("data_root", "data")


def load_real_images(name: str, image_size: int, count: int, seed: int = 0, data_root: str = "data"):
    """Up to ``count`` real images (uint8 [N, H, W, 3], shuffled), their labels and attribute classes."""
    from .data import TORCHVISION, load_dataset

    try:
        if name == "toonfaces":
            dataset = load_dataset("toonfaces", image_size, num_images=count, seed=REAL_TOONFACES_SEED + seed)
        else:  # folders are sorted by class: load all and shuffle rather than take the first ``count``
            dataset = load_dataset(name, image_size, data_root=data_root, num_images=count if name in TORCHVISION else 0)
    except ValueError as error:
        raise ValueError(f"cannot load the real images to compare with ({error}); name them with --data") from None
    if dataset.image_size != image_size:
        raise ValueError(f"real images are {dataset.image_size} px, the generator makes {image_size} px")
    order = np.random.default_rng(seed).permutation(len(dataset))[:count]
    labels = {key: np.asarray(values)[order] for key, values in dataset.labels.items()}
    return _rgb(dataset.images[torch.from_numpy(order)]), labels, {k: list(v) for k, v in dataset.attributes.items()}


def _judge(metadata: dict, classifier, real_images, labels, attributes, seed) -> tuple[object, dict]:
    if isinstance(classifier, (str, Path)):
        from .classifier import load_classifier

        loaded = load_classifier(classifier)
        return loaded, {"kind": f"attribute classifier {classifier}", "held_out_accuracy": loaded.metadata.get("accuracy")}
    if classifier is not None:
        return classifier, {"kind": "given attribute classifier",
                            "held_out_accuracy": (getattr(classifier, "metadata", None) or {}).get("accuracy")}
    from .classifier import load_bundled_classifier

    bundled = load_bundled_classifier((metadata.get("dataset") or {}).get("name", ""))
    if bundled is not None:
        accuracy = (getattr(bundled, "metadata", {}) or {}).get("accuracy")
        return bundled, {"kind": "bundled attribute classifier", "held_out_accuracy": accuracy}
    judge = PixelJudge.fit(real_images, labels, attributes, seed)
    return judge, {"kind": f"pixel PCA ({judge.pca.n_components_} components) + logistic regression, "
                           f"fitted on {len(real_images)} real images", "held_out_accuracy": judge.accuracy}


# ---------------------------------------------------------------- blocks of the report

def _generated(explorer, z) -> np.ndarray:
    return np.concatenate([explorer.images(z[i:i + CHUNK]) for i in range(0, len(z), CHUNK)])


def _frequencies(probabilities: np.ndarray, classes: list[str]):
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(classes)) / max(len(probabilities), 1)
    if list(classes) == ["no", "yes"]:
        return float(counts[1])
    return {c: float(f) for c, f in zip(classes, counts)}


def _attribute_block(attributes, real, generated, labels, label_classes) -> dict:
    block = {}
    for name, classes in attributes.items():
        block[name] = {"real": _frequencies(real[name], classes), "generated": _frequencies(generated[name], classes)}
        # the true labels of the real images, where they name the same classes: how far off the judge itself is
        if name in labels and list(label_classes.get(name, [])) == list(classes):
            block[name]["real_labels"] = _frequencies(np.eye(len(classes))[labels[name]], classes)
    return block


def _coverage_block(attributes, real, generated) -> dict:
    """Per attribute: classes the generator shows (argmax of at least a tenth of its fair share of the samples)
    and the judge's mean confidence (max probability) on real and generated images."""
    block = {}
    for name, classes in attributes.items():
        counts = np.bincount(generated[name].argmax(axis=1), minlength=len(classes))
        seen = counts >= max(1, round(0.1 * len(generated[name]) / len(classes)))
        block[name] = {"coverage": float(seen.mean()), "classes_seen": int(seen.sum()), "classes": len(classes),
                       "missing": [c for c, s in zip(classes, seen) if not s],
                       "mean_confidence_real": float(real[name].max(axis=1).mean()),
                       "mean_confidence_generated": float(generated[name].max(axis=1).mean())}
    return block


def _headline(figures: dict) -> dict:
    return {"add_success": figures["add_success"], "add_keep_others": figures["keep_others"]["joint"],
            "remove_success": figures["remove_success"], "remove_keep_others": figures["remove_keep_others"]["joint"]}


def _method_block(explorer, attribute, method, strength, n, seed, sweep_n, measure_seed) -> dict:
    direction = explorer.direction(attribute, method, n=n, seed=seed)
    main = measure_edit(explorer, direction, strength, n=n, seed=measure_seed)
    block = {**_headline(main), "add_faces": main["add_faces"], "remove_faces": main["remove_faces"],
             "add_keep_each": {k: v for k, v in main["keep_others"].items() if k != "joint"},
             "remove_keep_each": {k: v for k, v in main["remove_keep_others"].items() if k != "joint"},
             "class_distance": direction.class_distance, "step_length": main["step_length"],
             "random": _headline(main["random"]), "sweep": []}
    for sweep_strength in SWEEP_STRENGTHS:
        figures = measure_edit(explorer, direction, sweep_strength, n=sweep_n, seed=measure_seed)
        random = {f"random_{k}": v for k, v in _headline(figures["random"]).items()}
        block["sweep"].append({"strength": sweep_strength, **_headline(figures), **random})
    return block


def _per_face_block(explorer, attribute, z, before, n, seed) -> dict:
    """Each face moved just far enough (conditional direction) for the judge to see the attribute added (p >= 0.9)
    or removed (p <= 0.1); keep rates over all those faces, the unfinished ones at the maximum strength."""
    direction = explorer.direction(attribute, PER_FACE_METHOD, conditional=True, n=n, seed=seed)
    p = attribute_probability(before, attribute, explorer.attributes)
    name, _ = parse_attribute(attribute, explorer.attributes)
    others = [other for other in explorer.attributes if other != name]
    block = {"method": PER_FACE_METHOD, "conditional": True, "target": PER_FACE_TARGET,
             "max_strength": PER_FACE_MAX_STRENGTH, "faces_tried": len(z)}
    for label, faces, limit in (("add", np.flatnonzero(p < 1 - CONFIDENT), PER_FACE_MAX_STRENGTH),
                                ("remove", np.flatnonzero(p > CONFIDENT), -PER_FACE_MAX_STRENGTH)):
        if not len(faces):
            block[label] = {"faces": 0}
            continue
        strengths, edited = per_face_strength(explorer, z[faces], direction, PER_FACE_TARGET, limit, PER_FACE_STEPS)
        after = classify_latents(explorer, edited)
        keeps = keep_rates({k: v[faces] for k, v in before.items()}, after, explorer.attributes, others, np.arange(len(faces)))
        reached = ~np.isnan(strengths)
        block[label] = {"faces": int(len(faces)), "success": float(reached.mean()),
                        "median_strength": float(np.median(np.abs(strengths[reached]))) if reached.any() else math.nan,
                        "keep_others": keeps["joint"], "keep_each": {k: v for k, v in keeps.items() if k != "joint"}}
    return block


def sweep_size(n: int) -> int:
    """Faces for the strength sweep and per-face strengths: a quarter of n keeps the sweep as cheap as one strength."""
    return min(n, max(32, n // 4))


def _arithmetic_blocks(explorer, strength, n, seed, measure_seed, log) -> tuple[dict, dict]:
    """(arithmetic, conditional comparison) for every yes/no attribute; a failure is recorded, not raised."""
    binary = [name for name, classes in explorer.attributes.items() if list(classes) == ["no", "yes"]]
    sweep_n = sweep_size(n)
    z_faces = explorer.latents(range(measure_seed, measure_seed + sweep_n))
    before = classify_latents(explorer, z_faces)
    arithmetic, conditional = {}, {}
    for attribute in binary:
        arithmetic[attribute], conditional[attribute] = {}, {}
        for method in METHODS:
            log(f"arithmetic: {attribute} by {method}")
            try:
                arithmetic[attribute][method] = _method_block(explorer, attribute, method, strength, n, seed, sweep_n,
                                                              measure_seed)
            except ValueError as error:
                arithmetic[attribute][method] = {"error": str(error)}
        for method in CONDITIONAL_METHODS:
            plain = arithmetic[attribute].get(method, {})
            try:
                direction = explorer.direction(attribute, method, conditional=True, n=n, seed=seed)
                measured = measure_edit(explorer, direction, strength, n=n, seed=measure_seed)
                # projecting the others out shortens the class-mean distance, so the same strength is a shorter step
                figures = {**_headline(measured), "step_length": measured["step_length"]}
                conditional[attribute][method] = {"plain": {k: plain.get(k) for k in figures}, "conditional": figures}
            except ValueError as error:
                conditional[attribute][method] = {"error": str(error)}
        try:
            arithmetic[attribute]["per_face_strength"] = _per_face_block(explorer, attribute, z_faces, before, n, seed)
        except ValueError as error:
            arithmetic[attribute]["per_face_strength"] = {"error": str(error)}
    return arithmetic, conditional


def _cosine_block(explorer, n, seed) -> dict:
    """Cosines between the mean-difference directions of every attribute (classes one at a time)."""
    names, vectors, skipped = [], [], {}
    for attribute in explorer.binary_attributes():
        try:
            vectors.append(explorer.direction(attribute, "mean_difference", n=n, seed=seed).vector)
            names.append(attribute)
        except ValueError as error:
            skipped[attribute] = str(error)
    matrix = np.array(vectors) @ np.array(vectors).T if vectors else np.zeros((0, 0))
    pairs = [(abs(matrix[i, j]), names[i], names[j], float(matrix[i, j])) for i in range(len(names))
             for j in range(i + 1, len(names)) if names[i].split("=")[0] != names[j].split("=")[0]]
    strongest = [{"a": a, "b": b, "cosine": c} for _, a, b, c in sorted(pairs, reverse=True)[:3]]
    return {"method": "mean_difference", "names": names, "cosine": matrix.round(4).tolist(),
            "most_entangled": strongest, "skipped": skipped}


def _unsupervised_block(explorer, seed) -> dict:
    from .unsupervised import ganspace, sefa

    k = min(UNSUPERVISED_K, explorer.latent_dim)
    found = {"sefa": sefa(explorer.generator, k), "ganspace": ganspace(explorer.generator, k, seed=seed)}
    first = DEFAULT_MEASURE_SEED + 500_000 + seed  # yet another seed set: neither fitted on nor measured with
    z = explorer.latents(range(first, first + UNSUPERVISED_FACES))
    attributes = explorer.binary_attributes()
    block = {"step": UNSUPERVISED_STEP, "faces": UNSUPERVISED_FACES}
    for method, (directions, weights) in found.items():
        rows = []
        for index, (vector, weight) in enumerate(zip(directions, weights)):
            row = {"index": index, "eigenvalue" if method == "sefa" else "variance_fraction": float(weight)}
            if attributes:
                step = UNSUPERVISED_STEP * torch.as_tensor(vector)
                plus, minus = classify_latents(explorer, z + step), classify_latents(explorer, z - step)
                changes = {a: float(attribute_probability(plus, a, explorer.attributes).mean()
                                    - attribute_probability(minus, a, explorer.attributes).mean()) for a in attributes}
                top = max(changes, key=lambda a: abs(changes[a]))
                row.update({"top_attribute": top, "change": changes[top], "changes": changes})
            rows.append(row)
        block[method] = rows
    return block


# ---------------------------------------------------------------- the whole evaluation

def _clean(value):
    """JSON-safe: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value


def evaluate(checkpoint_path, n: int = 2000, seed: int = 0, strength: float = 1.5, data: str | None = None,
             classifier=None, log=None, quality_only: bool = False) -> dict:
    """Measure a generator file; returns a JSON-serialisable dict (see the module docstring for the blocks).

    ``data`` names the real images when the checkpoint's own data set cannot be reloaded from its metadata;
    ``classifier`` replaces the judge: a classifier file (ganlib.classifier format) or any object with
    ``attributes``, ``predict_proba`` and ``features``. ``quality_only`` stops after FD and attribute frequencies
    (seconds instead of minutes: for ranking a run's kept checkpoints); the other blocks are then empty.
    G and the judge see about 100 n images: n=1000 took 10.5 minutes on one thread of a busy 2-core CPU."""
    if n < 32:
        raise ValueError(f"n must be at least 32, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if not 0 < strength <= 10:
        raise ValueError(f"strength must be in (0, 10], got {strength}")
    log = log or (lambda message: None)
    started = time.time()
    seconds = {}
    generator = load_generator(checkpoint_path)
    metadata = generator.metadata
    name, data_root = real_source(metadata, data)
    log(f"loading real images ({name})")
    real_images, labels, real_attributes = load_real_images(name, generator.config.image_size, 2 * n, seed, data_root)
    n_fd = min(n, len(real_images) // 2)  # digits has 1,797 images: FD on fewer, all sets the same size
    if n_fd < 2:
        raise ValueError(f"the real data set has {len(real_images)} images; FD needs at least 4")
    judge, judge_info = _judge(metadata, classifier, real_images, labels, real_attributes, seed)
    explorer = _MemoExplorer(generator, judge)
    measure_seed = DEFAULT_MEASURE_SEED + seed
    if explorer.attributes and not quality_only:  # the sets that find_direction and measure_edit label again and again
        for start, count in ((seed, n), (measure_seed, n), (measure_seed, sweep_size(n))):
            explorer.pin(explorer.latents(range(start, start + count)))
    seconds["setup"] = time.time() - started

    log("quality: Fréchet distance")
    mark = time.time()
    z = explorer.latents(range(measure_seed, measure_seed + n))
    generated_images = _generated(explorer, z)
    real_a, real_b = real_images[:n_fd], real_images[n_fd:2 * n_fd]
    features_real_a = judge.features(real_a)
    fd = frechet_distance(judge.features(generated_images[:n_fd]), features_real_a)
    baseline = frechet_distance(judge.features(real_b), features_real_a)
    report = {"fd": fd, "fd_real_baseline": baseline, "fd_ratio": fd / baseline if baseline > 0 else math.nan,
              "fd_samples": n_fd, "fd_features": f"{judge_info['kind']}: {features_real_a.shape[1]} features"}
    attributes = explorer.attributes
    if attributes:
        generated = classify_latents(explorer, z)
        real = judge.predict_proba(real_images[:n])
        report["attributes"] = _attribute_block(attributes, real, generated, {k: v[:n] for k, v in labels.items()},
                                               real_attributes)
        report["coverage"] = _coverage_block(attributes, real, generated)
    else:
        report["attributes"], report["coverage"] = {}, {}
    seconds["quality"] = time.time() - mark

    report["arithmetic"], report["entanglement"], report["unsupervised"] = {}, {}, {}
    if not quality_only:
        mark = time.time()
        report["arithmetic"], conditional = _arithmetic_blocks(explorer, strength, n, seed, measure_seed, log) \
            if attributes else ({}, {})
        seconds["arithmetic"] = time.time() - mark
        log("entanglement and unsupervised directions")
        mark = time.time()
        report["entanglement"] = {**_cosine_block(explorer, n, seed), "conditional": conditional} if attributes else {}
        seconds["entanglement"] = time.time() - mark
        mark = time.time()
        report["unsupervised"] = _unsupervised_block(explorer, seed)
        seconds["unsupervised"] = time.time() - mark
    seconds["total"] = time.time() - started

    report["meta"] = {"checkpoint": str(checkpoint_path), "training_steps": (metadata.get("training") or {}).get("steps"),
                      "dataset": name, "n": n, "seed": seed, "strength": strength, "quality_only": quality_only,
                      "sweep_strengths": list(SWEEP_STRENGTHS), "sweep_n": sweep_size(n), "judge": judge_info,
                      "seconds": {k: round(v, 1) for k, v in seconds.items()},
                      "device": f"cpu, {torch.get_num_threads()} torch thread(s)",
                      "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return _clean(report)


# ---------------------------------------------------------------- summaries and the readable report

def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary(report: dict) -> dict[str, str]:
    """A few lines for the model card: FD ratio and, per attribute, the default direction's add/remove figures."""
    lines = {"FD ratio": _number(report.get("fd_ratio"), 1) + " (1 = as close as two real samples)"}
    for attribute, methods in report.get("arithmetic", {}).items():
        figures = methods.get(SUMMARY_METHOD, {})
        if "error" in figures or not figures:
            continue
        lines[f"{attribute} add / remove"] = (f"{_percent(figures['add_success'])} / {_percent(figures['remove_success'])}"
                                              f", keeps others {_percent(figures['add_keep_others'])}")
    per_face = (report.get("arithmetic", {}).get(EDIT_ATTRIBUTE) or {}).get("per_face_strength", {})
    if "success" in per_face.get("add", {}):
        lines[f"{EDIT_ATTRIBUTE}, per-face strength"] = (
            f"add {_percent(per_face['add']['success'])} (keeps others {_percent(per_face['add']['keep_others'])})"
            + (f", remove {_percent(per_face['remove']['success'])} (keeps {_percent(per_face['remove']['keep_others'])})"
               if "success" in per_face.get("remove", {}) else ""))
    if report.get("attributes"):
        met, total = met_count(report)
        lines["targets met"] = f"{met} of {total} (ganlib evaluate lists them)"
    meta = report.get("meta", {})
    step = f", at step {meta['training_steps']}" if meta.get("training_steps") is not None else ""
    lines["evaluated"] = f"n {meta.get('n')}, strength {meta.get('strength')}{step}, {str(meta.get('date', ''))[:10]}"
    return lines


def write_evaluation_metadata(checkpoint_path, report: dict) -> Path:
    """Store the summary (and the headline numbers) under metadata["evaluation"], rewriting the file with the
    same tensors: fp16 stays fp16, and the discriminator stays when there is one."""
    from .checkpoint import load_discriminator, save_generator

    generator = load_generator(checkpoint_path)
    discriminator = load_discriminator(checkpoint_path)
    metadata = {k: v for k, v in generator.metadata.items()
                if k not in ("format", "format_version", "model", "dtype", "has_discriminator")}
    metadata["evaluation"] = {"summary": summary(report), "fd": report.get("fd"),
                              "fd_real_baseline": report.get("fd_real_baseline"), "fd_ratio": report.get("fd_ratio"),
                              **{k: report["meta"][k] for k in ("n", "seed", "strength", "date")}}
    return save_generator(checkpoint_path, generator, metadata, discriminator=discriminator,
                          half=generator.metadata.get("dtype") == "float16")


def _significant(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                for i, (cell, w) in enumerate(zip(row, widths)))).rstrip() for row in rows]


def _frequency_text(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {100 * v:.0f}%" for k, v in value.items())
    return _percent(value)


HEADLINE = ("add_success", "add_keep_others", "remove_success", "remove_keep_others")


def _quality_lines(report: dict) -> list[str]:
    return ["QUALITY (Fréchet distance in the judge's feature space; lower is better)"] + _table([
        ["FD generated vs real", _significant(report["fd"])],
        ["FD real vs real (baseline)", _significant(report["fd_real_baseline"])],
        ["FD ratio (1 = as good as real)", _number(report["fd_ratio"])],
        ["images per set", str(report["fd_samples"])]])


def _attribute_lines(report: dict) -> list[str]:
    rows = [["attribute", "real", "generated"]]
    rows += [[name, _frequency_text(v["real"]), _frequency_text(v["generated"])] for name, v in report["attributes"].items()]
    coverage = [["attribute", "classes shown", "confidence real", "confidence generated"]]
    coverage += [[name, f"{v['classes_seen']}/{v['classes']}", _percent(v["mean_confidence_real"]),
                  _percent(v["mean_confidence_generated"])] for name, v in report["coverage"].items()]
    return ["", "ATTRIBUTES (share of images, as the judge sees them)"] + _table(rows) + [""] + _table(coverage)


def _arithmetic_lines(report: dict) -> list[str]:
    meta, arithmetic = report["meta"], report["arithmetic"]
    lines = ["", f"ARITHMETIC at strength {meta['strength']} (add: faces the judge is sure lack it; remove: sure have "
                 "it; keep: all other confident attributes unchanged)"]
    rows = [["attribute", "method", "add", "keep", "remove", "keep", "random add", "keep", "random remove", "keep"]]
    sweep_rows = [["attribute", "method"] + [f"s={s:g}" for s in meta["sweep_strengths"]]]
    errors = []
    for attribute, methods in arithmetic.items():
        for method in METHODS:
            figures = methods.get(method, {})
            if "error" in figures:
                errors.append(f"  {attribute} by {method}: {figures['error']}")
                continue
            rows.append([attribute, method] + [_percent(figures[k]) for k in HEADLINE]
                        + [_percent(figures["random"][k]) for k in HEADLINE])
            sweep_rows.append([attribute, method] + [f"{_percent(p['add_success'])}/{_percent(p['remove_success'])} "
                                                     f"({_percent(p['add_keep_others'])})" for p in figures["sweep"]])
    lines += _table(rows) + errors
    lines += ["", f"STRENGTH SWEEP (n {meta['sweep_n']}; add / remove success, add's joint keep in brackets)"]
    lines += _table(sweep_rows)
    lines += ["", f"PER-FACE STRENGTH ({PER_FACE_METHOD}, conditional; each face moved until p >= {PER_FACE_TARGET} "
                  f"or up to {PER_FACE_MAX_STRENGTH:g})"]
    rows = [["attribute", "add reached", "median strength", "keep", "remove reached", "median strength", "keep"]]
    for attribute, methods in arithmetic.items():
        cells = []
        for label in ("add", "remove"):
            part = methods.get("per_face_strength", {}).get(label, {})
            cells += [_percent(part.get("success")), _number(part.get("median_strength")), _percent(part.get("keep_others"))]
        rows.append([attribute] + cells)
    return lines + _table(rows)


def _entanglement_lines(entanglement: dict) -> list[str]:
    names = entanglement["names"]
    rows = [[""] + [name.split("=")[-1][:10] for name in names]]
    rows += [[name] + [f"{c:+.2f}" for c in row] for name, row in zip(names, entanglement["cosine"])]
    strongest = ", ".join(f"{p['a']} ~ {p['b']} {p['cosine']:+.2f}" for p in entanglement["most_entangled"])
    lines = ["", "ENTANGLEMENT (cosine between mean-difference directions)"] + _table(rows)
    lines += [f"  most entangled: {strongest or '-'}", "",
              "  conditional directions (the other attributes' directions projected out), same strength: "
              "plain -> conditional"]
    rows = [["attribute", "method", "add success", "add keep", "remove success", "remove keep", "step length"]]
    for attribute, methods in entanglement.get("conditional", {}).items():
        for method, figures in methods.items():
            if "error" not in figures:
                plain, conditional = figures["plain"], figures["conditional"]
                rows.append([attribute, method]
                            + [f"{_percent(plain.get(k))} -> {_percent(conditional[k])}" for k in HEADLINE]
                            + [f"{_number(plain.get('step_length'))} -> {_number(conditional.get('step_length'))}"])
    return lines + _table(rows)


def _unsupervised_lines(unsupervised: dict) -> list[str]:
    lines = ["", f"UNSUPERVISED DIRECTIONS (each moved ±{unsupervised.get('step', UNSUPERVISED_STEP):g} on "
                 f"{unsupervised.get('faces', UNSUPERVISED_FACES)} faces; change = mean p(+) - mean p(-); "
                 "weight: SeFa eigenvalue, GANSpace variance fraction)"]
    rows = [["method", "#", "weight", "changes most", "change"]]
    for method in ("sefa", "ganspace"):
        for row in unsupervised.get(method, []):
            weight = row.get("eigenvalue", row.get("variance_fraction"))
            rows.append([method, str(row["index"]), _number(weight, 3), row.get("top_attribute", "-"),
                         f"{row['change']:+.2f}" if row.get("change") is not None else "-"])
    return lines + _table(rows)


def format_report(report: dict) -> list[str]:
    """The readable report: a header, then one aligned table per block."""
    meta = report["meta"]
    lines = [f"ganlib evaluate {meta['checkpoint']}",
             f"  {meta['dataset']}, n {meta['n']}, seed {meta['seed']}, strength {meta['strength']}, "
             f"{meta['seconds']['total']:.0f} s on {meta['device']}",
             f"  judge: {meta['judge']['kind']}", ""]
    lines += _quality_lines(report)
    if report["attributes"]:
        lines += _attribute_lines(report)
    if report["arithmetic"]:
        lines += _arithmetic_lines(report)
    if (report.get("entanglement") or {}).get("names"):
        lines += _entanglement_lines(report["entanglement"])
    if report.get("unsupervised"):
        lines += _unsupervised_lines(report["unsupervised"])
    return lines + ([""] + text_lines(report) if report["attributes"] else [])
