"""Attribute directions in z, found from latents that the attribute classifier labelled, and measured edits.

Three ways to find "the sunglasses direction", from the literature our users know:
- ``mean_difference``: mean z of faces with the attribute minus mean z of faces without (plat, White 2016);
- ``svm``: the normal of a linear SVM separating the two groups (InterFaceGAN, Shen et al. 2020);
- ``exemplar3``: the mean of 3 exemplars with minus the mean of 3 without (DCGAN paper: single z are unstable).
  Three random exemplars a side are not enough in a 100-d z: their difference is mostly the six faces' own
  quirks, which a step along it adds to every face. So the exemplars are the clearest cases: among the faces the
  classifier is sure about, the 3 furthest toward the attribute's side along the line from the average face without
  it to the average face with it, and the 3 furthest toward the other side.
``conditional=True`` projects the other attributes' directions out (InterFaceGAN's conditional editing), so that
adding a hat drags less hair colour along.

A multi-class attribute is edited one class at a time, "class c vs the rest": ``"hair=blond"``.
An edit's ``strength`` is in units of the attribute's class-mean distance: the length in z from the average face
without the attribute to the average face with it, on the labelled samples. One unit is the same length in z for
every method and with or without conditioning, so a strength moves every face equally far, and a face's z (about
sqrt(latent_dim) long: 10 in 100-d) stays where G was trained whatever the direction. Along the mean difference,
strength 1.0 moves a face from the average face without the attribute to the average face with it; a direction
that points elsewhere (the SVM normal, exemplars, a conditioned vector) changes the attribute less at the same
strength, by its cosine with the mean difference, and the measured edit shows how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

METHODS = ("mean_difference", "svm", "exemplar3")
CONFIDENT = 0.9  # "the classifier is sure": p > 0.9 for yes, p < 0.1 for no
DEFAULT_MEASURE_SEED = 1_000_000  # measure on seeds far from find_direction's default seeds 0..n-1
# per_face_strength's defaults, which the dashboard and ganlib evaluate both use: each face is stepped until p >= 0.9,
# in 16 steps up to 4 class-mean distances; a face that needs more is reported as not reached
PER_FACE_TARGET, PER_FACE_MAX_STRENGTH, PER_FACE_STEPS = 0.9, 4.0, 16
YES_NO = ["no", "yes"]  # the classes of a yes/no attribute, edited by its name alone


@dataclass(frozen=True)
class Direction:
    attribute: str  # "sunglasses" or "hair=blond"
    method: str  # one of METHODS
    vector: np.ndarray  # unit vector [latent_dim]
    class_distance: float  # the unit of edit strength: ||mean z with - mean z without|| (see the module doc)
    n: int  # how many latents the vector was computed from


# ---------------------------------------------------------------- pure functions on latents


def _as_numpy(latents) -> np.ndarray:
    if isinstance(latents, torch.Tensor):
        latents = latents.detach().cpu().numpy()
    return np.asarray(latents, dtype=np.float64)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError("the direction is zero: the two groups have the same mean")
    return vector / norm


def _split(latents, positive) -> tuple[np.ndarray, np.ndarray]:
    latents, positive = _as_numpy(latents), np.asarray(positive, dtype=bool)
    if latents.ndim != 2 or positive.shape != (len(latents),):
        raise ValueError(f"expected latents [N, d] and a boolean mask [N], got {latents.shape} and {positive.shape}")
    if positive.all() or not positive.any():
        raise ValueError("a direction needs latents both with and without the attribute")
    return latents, positive


def class_distance(latents, positive, direction) -> float:
    """Distance between the means of the two classes, measured along ``direction``."""
    latents, positive = _split(latents, positive)
    difference = latents[positive].mean(0) - latents[~positive].mean(0)
    return float(difference @ _unit(_as_numpy(direction)))


def mean_difference(latents, positive) -> tuple[np.ndarray, float]:
    """Unit vector from the mean z without the attribute to the mean z with it, and the distance between them."""
    latents, positive = _split(latents, positive)
    difference = latents[positive].mean(0) - latents[~positive].mean(0)
    return _unit(difference), float(np.linalg.norm(difference))


def svm_normal(latents, positive, seed: int = 0) -> np.ndarray:
    """Unit normal of a linear SVM separating the classes (InterFaceGAN), pointing toward the positive class.
    Classes are weighted by their frequency, so a rare attribute (hats: 28%) still gets a centred boundary."""
    from sklearn.svm import LinearSVC

    latents, positive = _split(latents, positive)
    svm = LinearSVC(C=0.01, class_weight="balanced", dual="auto", max_iter=5000, random_state=seed)
    svm.fit(latents, positive.astype(int))
    return _unit(svm.coef_[0])


def exemplar_difference(positive_exemplars, negative_exemplars) -> tuple[np.ndarray, float]:
    """DCGAN-paper concept arithmetic: mean of k exemplars with minus mean of k without (k = 3 in the paper).
    Returns the unit vector and the length of the difference."""
    positive_exemplars, negative_exemplars = _as_numpy(positive_exemplars), _as_numpy(negative_exemplars)
    if (
        positive_exemplars.ndim != 2
        or negative_exemplars.ndim != 2
        or not len(positive_exemplars)
        or not len(negative_exemplars)
    ):
        raise ValueError("exemplars must be non-empty [k, d] arrays")
    difference = positive_exemplars.mean(0) - negative_exemplars.mean(0)
    return _unit(difference), float(np.linalg.norm(difference))


def orthogonalize(direction, others: list) -> np.ndarray:
    """Conditional editing: remove from ``direction`` its components along ``others`` (made orthonormal by
    Gram-Schmidt first, so correlated others are not removed twice) and renormalise."""
    basis: list[np.ndarray] = []
    for other in others:
        residual = _as_numpy(other).copy()
        for vector in basis:
            residual -= (residual @ vector) * vector
        norm = np.linalg.norm(residual)
        if norm > 1e-8 * max(1.0, np.linalg.norm(_as_numpy(other))):  # skip others already spanned
            basis.append(residual / norm)
    result = _as_numpy(direction).copy()
    for vector in basis:
        result -= (result @ vector) * vector
    if np.linalg.norm(result) < 1e-8 * max(1.0, np.linalg.norm(_as_numpy(direction))):
        raise ValueError("the direction lies in the span of the others: nothing is left after removing them")
    return _unit(result)


def edit_latents(z, direction: Direction, strength):
    """z + strength * class_distance * vector; strength is a number or one per row ([N]). Same type as z."""
    step = np.asarray(strength, dtype=np.float64) * direction.class_distance
    if isinstance(z, torch.Tensor):
        vector = torch.as_tensor(direction.vector, dtype=z.dtype)
        step = torch.as_tensor(step, dtype=z.dtype)
        return z + (step[:, None] if step.dim() == 1 else step) * vector
    z = np.asarray(z)
    return z + (step[:, None] if step.ndim == 1 else step) * direction.vector.astype(z.dtype)


# ---------------------------------------------------------------- attributes as the classifier sees them


def is_yes_no(classes) -> bool:
    return list(classes) == YES_NO


def binary_attributes(attributes: dict[str, list[str]]) -> list[str]:
    """Editable attributes: the yes/no ones by name, the others one class at a time ("hair=blond")."""
    names = []
    for name, classes in attributes.items():
        names += [name] if is_yes_no(classes) else [f"{name}={c}" for c in classes]
    return names


def parse_attribute(attribute: str, attributes: dict[str, list[str]]) -> tuple[str, int]:
    """ "sunglasses" -> ("sunglasses", index of "yes"); "hair=blond" -> ("hair", index of "blond")."""
    name, _, wanted = attribute.partition("=")
    if name not in attributes:
        raise ValueError(f"unknown attribute {name!r}; this classifier knows {', '.join(attributes) or 'none'}")
    classes = attributes[name]
    if not wanted:
        if not is_yes_no(classes):
            raise ValueError(f"{name!r} has classes {classes}: pick one as '{name}=<class>' (class vs the rest)")
        wanted = "yes"
    if wanted not in classes:
        raise ValueError(f"{name!r} has no class {wanted!r}; its classes are {classes}")
    return name, list(classes).index(wanted)


def attribute_probability(
    probabilities: dict[str, np.ndarray], attribute: str, attributes: dict[str, list[str]]
) -> np.ndarray:
    """p(attribute) per face [N] from the classifier's {name: [N, classes]}."""
    name, index = parse_attribute(attribute, attributes)
    return probabilities[name][:, index]


def _require_classifier(explorer) -> None:
    if explorer.classifier is None:
        raise ValueError(
            f"no attribute classifier for data set {explorer.dataset_name!r}: "
            "attribute directions need one (ganlib ships one for toonfaces)"
        )


def classify_latents(explorer, z: torch.Tensor) -> dict[str, np.ndarray]:
    """The classifier's probabilities {name: [N, classes]} for the images of latents z."""
    _require_classifier(explorer)
    parts: dict[str, list] = {name: [] for name in explorer.attributes}
    for start in range(0, len(z), 512):  # holds the images of one batch, not of all z, in memory
        for name, values in explorer.attribute_probabilities(explorer.images(z[start : start + 512])).items():
            parts[name].append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def label_latents(explorer, n: int, seed: int, truncation: float = 1.0) -> tuple[torch.Tensor, dict]:
    """Latents of seeds seed .. seed+n-1 and the classifier's probabilities for their images."""
    _require_classifier(explorer)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    z = explorer.latents(range(seed, seed + n), truncation)
    return z, classify_latents(explorer, z)


def _fit(method: str, z: np.ndarray, p: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """(unit vector, how many latents it was fitted on)."""
    if method == "mean_difference":
        return mean_difference(z, p > 0.5)[0], len(z)
    if method == "svm":
        return svm_normal(z, p > 0.5, seed), len(z)
    positives, negatives = clearest_exemplars(z, p)
    return exemplar_difference(z[positives], z[negatives])[0], len(positives) + len(negatives)


def clearest_exemplars(latents, p, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """exemplar3's exemplars, as indices into latents [N, d] with p(attribute) [N]: of the faces the classifier is
    sure have the attribute, the k furthest toward it along the line between the class means (p > 0.5 against the
    rest), and of those it is sure lack it, the k furthest the other way. Random exemplars make a vector that points
    mostly along the 2k faces' own quirks; the clearest ones point along the attribute."""
    latents, p = _as_numpy(latents), np.asarray(p, dtype=np.float64)
    confident_yes, confident_no = np.flatnonzero(p > CONFIDENT), np.flatnonzero(p < 1 - CONFIDENT)
    if len(confident_yes) < k or len(confident_no) < k:
        raise ValueError(
            f"exemplar{k} needs {k} faces the classifier is sure have the attribute and {k} sure lack it; "
            f"found {len(confident_yes)} and {len(confident_no)} (try a larger n)"
        )
    along = latents @ mean_difference(latents, p > 0.5)[0]
    return (
        confident_yes[np.argsort(-along[confident_yes], kind="stable")[:k]],
        confident_no[np.argsort(along[confident_no], kind="stable")[:k]],
    )


def _labelled(explorer, n: int, seed: int, labelled) -> tuple[torch.Tensor, dict]:
    """``labelled`` when the caller has labelled seeds seed..seed+n-1 already (it then holds what label_latents
    returns for them), else those seeds labelled now."""
    if labelled is None:
        return label_latents(explorer, n, seed)
    z, probabilities = labelled
    if len(z) != n:
        raise ValueError(f"the labelled latents are {len(z)}, expected n = {n}")
    return z, probabilities


def find_direction(
    explorer,
    attribute: str,
    method: str = "mean_difference",
    n: int = 2000,
    seed: int = 0,
    conditional: bool = False,
    labelled: tuple | None = None,
) -> Direction:
    """The direction of ``attribute`` ("smiling", "hair=blond") from n latents (seeds seed..seed+n-1) labelled
    by the explorer's classifier. ``labelled``: label_latents(explorer, n, seed) from a caller that finds many
    directions on the same seeds and labels them once."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _require_classifier(explorer)
    name, _ = parse_attribute(attribute, explorer.attributes)  # a typo fails before anything is generated
    z, probabilities = _labelled(explorer, n, seed, labelled)
    z = _as_numpy(z)
    p = attribute_probability(probabilities, attribute, explorer.attributes)
    if (p > 0.5).all() or (p <= 0.5).all():
        raise ValueError(
            f"among {n} samples the classifier found {'only' if (p > 0.5).all() else 'no'} faces "
            f"with {attribute!r}: this generator cannot show both sides yet"
        )
    vector, fitted = _fit(method, z, p, seed)
    distance = mean_difference(z, p > 0.5)[1]  # the unit of strength, the same for every method (module doc)
    if conditional:
        # others by the same method on the same samples; exemplar triples are too noisy to condition on
        other_method = "mean_difference" if method == "exemplar3" else method
        others = []
        for other in binary_attributes(explorer.attributes):
            if other.partition("=")[0] == name:
                continue
            q = attribute_probability(probabilities, other, explorer.attributes)
            if (q > 0.5).any() and (q <= 0.5).any():
                others.append(_fit(other_method, z, q, seed)[0])
        if len(others) >= len(vector):
            raise ValueError(
                f"conditional editing would remove {len(others)} other directions from a "
                f"{len(vector)}-dimensional latent space, leaving nothing; edit without conditioning"
            )
        # the unit stays the attribute's class-mean distance: scaling it by 1 / cos(conditioned, plain) would
        # send a face out of the region G knows wherever the projection left little of the vector
        vector = orthogonalize(vector, others)
    return Direction(attribute, method, vector.astype(np.float32), distance, fitted)


# ---------------------------------------------------------------- how well an edit works


def keep_rates(before: dict, after: dict, attributes: dict, names: list[str], faces: np.ndarray) -> dict:
    """For each other attribute: the fraction of ``faces`` (on which the classifier was confident about it
    before the edit) whose class is unchanged after; "joint": faces that kept every confident attribute."""
    kept_all = np.ones(len(faces), dtype=bool)
    result = {}
    for name in names:
        confident = before[name][faces].max(1) > CONFIDENT
        same = before[name][faces].argmax(1) == after[name][faces].argmax(1)
        result[name] = float(same[confident].mean()) if confident.any() else float("nan")
        kept_all &= same | ~confident
    result["joint"] = float(kept_all.mean()) if len(faces) else float("nan")
    return result


SIDES = ("add", "remove")  # measure_edit's two halves: faces without the attribute moved +, faces with it moved -


def _edit_figures(explorer, z, p_before, before, vector, step, attribute, sides=SIDES) -> dict:
    attributes = explorer.attributes
    name, _ = parse_attribute(attribute, attributes)
    others = [other for other in attributes if other != name]
    figures = {}
    for label in sides:
        if label == "add":
            sign, faces = 1.0, np.flatnonzero(p_before < 1 - CONFIDENT)
        else:
            sign, faces = -1.0, np.flatnonzero(p_before > CONFIDENT)
        # only the faces that count are generated and judged (a face's image does not depend on its batch)
        if len(faces):
            after = classify_latents(explorer, z[faces] + sign * step * vector)
        else:
            after = {key: np.zeros((0, len(classes)), np.float32) for key, classes in attributes.items()}
        p_after = attribute_probability(after, attribute, attributes)
        success = p_after > 0.5 if label == "add" else p_after < 0.5
        prefix = "" if label == "add" else "remove_"
        figures[f"{label}_success"] = float(success.mean()) if len(faces) else float("nan")
        figures[f"{label}_faces"] = int(len(faces))
        selected = {key: values[faces] for key, values in before.items()}
        figures[f"{prefix}keep_others"] = keep_rates(selected, after, attributes, others, np.arange(len(faces)))
    return figures


def measure_edit(
    explorer,
    direction: Direction,
    strength: float = 1.0,
    n: int = 300,
    seed: int = DEFAULT_MEASURE_SEED,
    labelled: tuple | None = None,
    sides: tuple[str, ...] = SIDES,
) -> dict:
    """How often the edit adds / removes the attribute, and how often it keeps the others, on n fresh latents.

    add: faces without the attribute (p < 0.1) moved by +strength; success = p > 0.5 after.
    remove: faces with it (p > 0.9) moved by -strength; success = p < 0.5 after.
    keep_others[X]: among those faces, of the ones whose class of X the classifier was sure about (p > 0.9 for
    the class), the fraction whose class of X is unchanged; "joint": faces that kept all of them.
    "random": the same figures for a random direction of the same length, the baseline any direction must beat.
    ``labelled``: label_latents(explorer, n, seed) from a caller that measures many edits on the same seeds.
    ``sides``: ("add",) or ("remove",) measures one half only (the dashboard shows the half its strength's sign
    picks), at about half the cost; the other half's keys are then absent.
    """
    if not sides or any(side not in SIDES for side in sides):
        raise ValueError(f"sides must be some of {SIDES}, got {sides!r}")
    z, before = _labelled(explorer, n, seed, labelled)
    p_before = attribute_probability(before, direction.attribute, explorer.attributes)
    step = float(strength) * direction.class_distance
    vector = torch.as_tensor(direction.vector, dtype=z.dtype)
    result = {
        "attribute": direction.attribute,
        "method": direction.method,
        "strength": float(strength),
        "step_length": abs(step),
        "n": n,
    }
    result.update(_edit_figures(explorer, z, p_before, before, vector, step, direction.attribute, sides))
    random_vector = torch.randn(len(vector), generator=torch.Generator().manual_seed(seed))
    random_vector = random_vector / random_vector.norm()
    result["random"] = _edit_figures(explorer, z, p_before, before, random_vector, step, direction.attribute, sides)
    return result


def per_face_strength(
    explorer,
    z,
    direction: Direction,
    target: float = PER_FACE_TARGET,
    max_strength: float = PER_FACE_MAX_STRENGTH,
    steps: int = PER_FACE_STEPS,
    refine: int = 3,
) -> tuple[np.ndarray, torch.Tensor]:
    """Step each face along the direction until the classifier sees the attribute (p >= target); a negative
    ``max_strength`` removes it instead (p <= 1 - target). Returns each face's strength (0 where it already
    has it, NaN where max_strength is not enough) and the edited latents (at max_strength for the NaN faces).

    ``refine`` bisection rounds then shrink each found strength toward the smallest that still reaches the
    target (resolution max_strength / steps / 2**refine): overshooting the boundary is what flips other
    attributes, so the shortest sufficient step keeps the most."""
    if steps < 1 or refine < 0:
        raise ValueError(f"steps must be at least 1 and refine at least 0, got {steps} and {refine}")
    z = torch.as_tensor(z, dtype=torch.float32)
    adding = max_strength >= 0

    def reached(latents) -> np.ndarray:
        p = attribute_probability(classify_latents(explorer, latents), direction.attribute, explorer.attributes)
        return p >= target if adding else p <= 1 - target

    strengths = np.where(reached(z), 0.0, np.nan)
    edited = z.clone()
    increment = max_strength / steps
    for strength in np.linspace(increment, max_strength, steps):
        pending = np.flatnonzero(np.isnan(strengths))
        if not len(pending):
            break
        moved = edit_latents(z[pending], direction, float(strength))
        done = reached(moved)
        strengths[pending[done]] = strength
        edited[pending] = moved  # the unfinished keep the latest (eventually max_strength) position
    # bisection between the last step that fell short (strength - increment) and the first that reached
    moved_faces = np.flatnonzero(~np.isnan(strengths) & (strengths != 0))
    low, high = strengths[moved_faces] - increment, strengths[moved_faces].copy()
    for _ in range(refine if len(moved_faces) else 0):
        middle = (low + high) / 2
        candidate = edit_latents(z[moved_faces], direction, torch.as_tensor(middle, dtype=torch.float32))
        done = reached(candidate)
        high, low = np.where(done, middle, high), np.where(done, low, middle)
    if len(moved_faces):
        strengths[moved_faces] = high
        edited[moved_faces] = edit_latents(z[moved_faces], direction, torch.as_tensor(high, dtype=torch.float32))
    return strengths, edited
