"""Arithmetic, directions mode: move faces along an attribute direction ("add sunglasses") with a strength, and show
the edit's success rate measured by the attribute classifier next to a random direction of the same length."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import services
from dashboard.text import plain
from dashboard.views import projected_faces
from dashboard.views.common import concept_label, seed_list, tile_scale

EDIT_FACES = 8
METHODS = {"mean_difference": "class-mean difference", "svm": "linear SVM normal", "exemplar3": "3 exemplars vs 3"}
# the stage demo: the SVM normal with the other attributes projected out kept hats, hair and smiles unchanged on
# 93-100% of faces, and added sunglasses more often than the class-mean difference at the same strength
# (services.DEMO_EDIT: the server computes it ahead, at start-up)
DEMO = {
    "direction": services.DEMO_EDIT["attribute"],
    "direction_method": services.DEMO_EDIT["method"],
    "conditional": services.DEMO_EDIT["conditional"],
    "strength": services.DEMO_EDIT["strength"],
    "edit_seed": 0,
}


def render(path: str, model, presenting: bool) -> None:
    if model.classifier is None:
        _exemplar_directions(path, model, presenting)
        return
    attributes = services.binary_attributes(path)
    if st.session_state["direction"] not in attributes:
        st.session_state["direction"] = "sunglasses" if "sunglasses" in attributes else attributes[0]
    if st.session_state["direction_method"] not in METHODS:
        st.session_state["direction_method"] = DEMO["direction_method"]
    if not presenting:
        _direction_controls(attributes)
    attribute, method = st.session_state["direction"], st.session_state["direction_method"]
    conditional, strength = bool(st.session_state["conditional"]), float(st.session_state["strength"])
    try:
        summary = services.direction_summary(path, attribute, method, conditional)
    except ValueError as error:
        st.warning(f"No {plain(attribute)} direction for this model: {plain(error)}")
        return
    concept = ("-" if strength >= 0 else "+") + attribute
    seeds = services.exemplar_seeds(path, (concept,), EDIT_FACES, st.session_state["edit_seed"])
    if not seeds:
        st.warning(f"The classifier found no face {concept_label(concept)} to edit.")
        return
    scale = tile_scale(model.image_size, presenting)
    verb = "adding" if strength >= 0 else "removing"
    per_face = bool(st.session_state["per_face"])
    if per_face:
        images, strengths, probabilities = services.per_face_edit(
            path, attribute, method, conditional, seeds, strength >= 0
        )
        amount = (
            f"each face moved only until the classifier sees the change (strengths "
            f"{_strength_range(strengths)}, at most {services.PER_FACE_MAX_STRENGTH:g})"
        )
        after_title = "After (per-face strength)"
    else:
        images = services.attribute_edit(path, attribute, method, conditional, seeds, (0.0, strength))
        probabilities = services.edit_probabilities(path, attribute, method, conditional, seeds, (0.0, strength))
        amount = f"strength {strength:+.2f}"
        after_title = f"After (strength {strength:+.2f})"
    st.caption(
        f"{len(seeds)} faces {concept_label(concept)} (the classifier is sure; seeds "
        f"{', '.join(map(str, seeds))}) · {verb} {attribute} along the {METHODS[method]} direction"
        f"{', other attributes projected out' if conditional else ''} · {amount} × the "
        f"class-mean distance ({summary['class_distance']:.2f} in z; direction from {summary['n']} samples)"
    )
    seen = (probabilities > 0.5).sum(axis=0)
    _before_after(
        images,
        seeds,
        scale,
        after_title,
        notes=(
            f"the classifier sees {attribute} on {seen[0]} of {len(seeds)}",
            f"the classifier sees {attribute} on {seen[1]} of {len(seeds)}",
        ),
    )
    projected_faces.edit_rows(path, attribute, method, conditional, strength, per_face, scale)
    _edit_report(path, attribute, method, conditional, strength)
    if not presenting:
        max_strength = services.PER_FACE_MAX_STRENGTH if strength >= 0 else -services.PER_FACE_MAX_STRENGTH
        st.caption("Reproduce in Python:")
        st.code(
            f"from ganlib.explorer import Explorer\n"
            f"explorer = Explorer.from_checkpoint({services.cli_path(path)!r})\n"
            f"direction = explorer.direction({attribute!r}, {method!r}, conditional={conditional}, "
            f"n={services.DIRECTION_SAMPLES})\n"
            + (
                f"from ganlib.directions import per_face_strength\n"
                f"z = explorer.latents({list(seeds)})\n"
                f"strengths, edited = per_face_strength(explorer, z, direction, max_strength={max_strength:g})\n"
                f"images = explorer.images(edited)  # uint8 [faces, H, W, 3]"
                if per_face
                else f"images = explorer.edit({list(seeds)}, direction, [0.0, {strength}])  # uint8 [faces, 2, H, W, 3]"
            )
            + projected_faces.edit_snippet(path, per_face, strength, max_strength),
            language="python",
            wrap_lines=True,
        )


def _strength_range(strengths) -> str:
    reached = strengths[~np.isnan(strengths)]
    missed = int(np.isnan(strengths).sum())
    text = f"{abs(reached).min():.2f}–{abs(reached).max():.2f}" if len(reached) else "none reached"
    return text + (f"; {missed} not reached" if missed else "")


def _before_after(images, seeds, scale: int, after_title: str, notes: tuple[str, str] = ("", "")) -> None:
    """Two rows, the same faces above each other: before, and after the edit."""
    columns = len(seeds)
    for key, title, row, note in (("edit_before", "Before", 0, notes[0]), ("edit_after", after_title, 1, notes[1])):
        with st.container(key=key):
            st.markdown(f"**{title}**" + (f" · {note}" if note else ""))
            st.image(services.grid_png(images[:, row], columns, scale), width="stretch")


def _direction_controls(attributes: list[str]) -> None:
    first, second, third = st.columns([2, 3, 3])
    with first:
        st.selectbox("Attribute", attributes, key="direction")
        st.toggle(
            "Conditional",
            key="conditional",
            help="Project the other attributes' directions out, so adding sunglasses does not also add a hat.",
        )
        st.toggle(
            "Per-face strength",
            key="per_face",
            help="Move each face only until the classifier sees the attribute (p ≥ 0.9), instead of one "
            "strength for all; only the strength's sign (add or remove) is used. Fewer side effects: "
            "`ganlib evaluate` reports its keep rates under PER-FACE STRENGTH.",
        )
    with second:
        st.radio(
            "Direction from",
            list(METHODS),
            format_func=METHODS.get,
            key="direction_method",
            help="Class-mean difference: mean z of faces with minus without. SVM: normal of a linear "
            "classifier in z (InterFaceGAN). 3 exemplars: the DCGAN paper's 3-vs-3 means, noisy.",
        )
    with third:
        st.slider("Strength (× class-mean distance; negative removes)", -3.0, 3.0, step=0.25, key="strength")
        st.number_input(
            "Faces from seed",
            0,
            2**31 - 1 - services.EXEMPLAR_SEARCH_LIMIT,
            step=EDIT_FACES,
            key="edit_seed",
            help="The first faces from this seed on that lack the attribute (or, for a negative strength, have it).",
        )


def _edit_report(path, attribute, method, conditional, strength) -> None:
    if strength == 0:
        return
    report = services.edit_report(path, attribute, method, conditional, strength)
    adding = strength > 0
    prefix = "add" if adding else "remove"
    keep = report["keep_others" if adding else "remove_keep_others"]
    baseline = report["random"]
    baseline_keep = baseline["keep_others" if adding else "remove_keep_others"]
    with st.container(border=True, key="edit_report"):
        cells = st.columns([2, 2, 3], vertical_alignment="center")
        cells[0].metric(
            f"{attribute} {'added' if adding else 'removed'}",
            _percent(report[f"{prefix}_success"]),
            f"random direction: {_percent(baseline[f'{prefix}_success'])}",
            delta_color="off",
            delta_arrow="off",
        )
        cells[1].metric(
            "all other attributes kept",
            _percent(keep["joint"]),
            f"random direction: {_percent(baseline_keep['joint'])}",
            delta_color="off",
            delta_arrow="off",
        )
        cells[2].caption(
            f"A quick estimate: the classifier on {report[f'{prefix}_faces']} of {report['n']} fresh random faces "
            f"that {'lacked' if adding else 'had'} {attribute} (it was sure), each moved by {abs(strength):.2f} × the "
            f"class-mean distance. The random direction has the same length: what any push this big does by chance. "
            f"Kept per attribute: "
            + ", ".join(f"{name} {_percent(value)}" for name, value in keep.items() if name != "joint")
            + "."
        )
        stored = services.stored_evaluation(path, attribute)
        if stored:
            cells[2].caption(
                f"Full measurement stored with this model (`ganlib evaluate`: {METHODS[stored['method']]} direction, "
                f"strength {stored['strength']:g}, {stored['n']} faces): add / remove {attribute} "
                f"{plain(stored['figures'])}."
            )


def _percent(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"  # NaN: no face qualified


def _exemplar_directions(path: str, model, presenting: bool) -> None:
    st.info(
        "This model has no attribute classifier (ganlib ships one for ToonFaces only), so attribute "
        "directions cannot be found or measured here. Build one from examples instead: pinned faces that show "
        "the attribute (positive) and pinned faces that do not (negative).",
        icon=":material/info:",
    )
    pins = list(st.session_state["pins"])
    if not presenting:
        left, middle, right = st.columns([3, 3, 2])
        for key, column, label in (
            ("positive_pins", left, "Positive: with the attribute"),
            ("negative_pins", middle, "Negative: without it"),
        ):
            options = list(dict.fromkeys(pins + list(st.session_state[key])))
            column.multiselect(label, options, key=key, format_func=lambda s: f"#{s}")
        with right:
            st.slider("Strength (× the positive − negative distance)", -3.0, 3.0, step=0.25, key="strength")
            st.number_input(
                "Faces from seed", 0, 2**31 - 1 - services.EXEMPLAR_SEARCH_LIMIT, step=EDIT_FACES, key="edit_seed"
            )
    positive, negative = tuple(st.session_state["positive_pins"]), tuple(st.session_state["negative_pins"])
    if not positive or not negative:
        st.warning(
            "Pin faces on the Samples page, then choose at least one positive and one negative here "
            "(three or more each: single exemplars are noisy)."
        )
        return
    strength = float(st.session_state["strength"])
    seeds = tuple(range(st.session_state["edit_seed"], st.session_state["edit_seed"] + EDIT_FACES))
    images = services.exemplar_edit(path, positive, negative, seeds, (0.0, strength))
    scale = tile_scale(model.image_size, presenting)
    st.caption(
        f"Direction: mean z of {seed_list(positive)} minus mean z of {seed_list(negative)} · faces "
        f"{seeds[0]}–{seeds[-1]} · strength {strength:+.2f}"
    )
    _before_after(images, seeds, scale, f"After (strength {strength:+.2f})")
    projected_faces.exemplar_rows(path, positive, negative, strength, scale)
