"""Arithmetic, directions mode: move faces along an attribute direction ("add sunglasses") with a strength, and show
the edit's success rate measured by the attribute classifier next to a random direction of the same length."""

from __future__ import annotations

import contextlib

import numpy as np
import streamlit as st

from dashboard import services
from dashboard.text import plain
from dashboard.views import projected_faces
from dashboard.views.common import concept_label, seed_list, tile_scale

EDIT_FACES = 8
METHODS = {
    "mean_difference": "class-mean difference",
    "svm": "linear SVM normal",
    "exemplar3": "3 exemplars vs 3",
    services.KEEP_PERSON: "keep the person (slower)",
}
KEEPING = (
    "then 20 gradient steps per face hold the other attributes' classifier outputs and D's features where they were "
    "(about 0.2-0.5 s a face on a 2-core CPU)"
)
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
    unit = summary["class_distance"]
    if per_face:
        images, strengths, probabilities = services.per_face_edit(
            path, attribute, method, conditional, seeds, strength >= 0
        )
        amount = (
            f"each face moved only until the classifier sees the change (strengths "
            f"{_strength_range(strengths)}, at most {services.PER_FACE_MAX_STRENGTH:g}) × the class-mean distance"
        )
        after_title = "After (per-face strength)"
    else:
        with (
            st.spinner(f"Keeping the person: 20 gradient steps for each of {len(seeds)} faces...")
            if (method == services.KEEP_PERSON)
            else contextlib.nullcontext()
        ):
            images = services.attribute_edit(path, attribute, method, conditional, seeds, (0.0, strength))
        probabilities = services.edit_probabilities(path, attribute, method, conditional, seeds, (0.0, strength))
        amount = f"strength {strength:+.2f} × the class-mean distance: each face moves {abs(strength) * unit:.2f} in z"
        after_title = f"After (strength {strength:+.2f})"
    if method == services.KEEP_PERSON:
        amount += f", {KEEPING}"
    fitted = (
        f"{summary['n'] // 2} + {summary['n'] // 2} exemplars chosen from {services.DIRECTION_SAMPLES} labelled faces"
        if method == "exemplar3"
        else f"{summary['n']} labelled faces"
    )
    st.caption(
        f"{len(seeds)} faces {concept_label(concept)} (the classifier is sure; seeds "
        f"{', '.join(map(str, seeds))}) · {verb} {attribute} along the "
        f"{METHODS['mean_difference' if method == services.KEEP_PERSON else method]} direction"
        f"{', other attributes projected out' if conditional else ''} · {amount} · one unit is {unit:.2f} in z, "
        f"from the average face without {attribute} to the average face with it, the same for every method and "
        f"setting (a face's own z is about {np.sqrt(services.latent_dim(path)):.0f} long) · direction from {fitted}"
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
            f"direction = explorer.direction({attribute!r}, {_direction_method(method)!r}, conditional={conditional}, "
            f"n={services.DIRECTION_SAMPLES})\n"
            + (
                f"from ganlib.directions import per_face_strength\n"
                f"z = explorer.latents({list(seeds)})\n"
                f"strengths, edited = per_face_strength(explorer, z, direction, max_strength={max_strength:g})\n"
                + (
                    "from ganlib.guided_edit import keep_person\n"
                    f"edited = keep_person(explorer, z, edited, {attribute!r}, adding={strength >= 0})\n"
                    if method == services.KEEP_PERSON
                    else ""
                )
                + "images = explorer.images(edited)  # uint8 [faces, H, W, 3]"
                if per_face
                else (
                    f"images = explorer.edit_keeping_person(explorer.latents({list(seeds)}), direction, "
                    f"[0.0, {strength}])  # uint8 [faces, 2, H, W, 3]"
                    if method == services.KEEP_PERSON
                    else f"images = explorer.edit({list(seeds)}, direction, [0.0, {strength}])  "
                    "# uint8 [faces, 2, H, W, 3]"
                )
            )
            + projected_faces.edit_snippet(path, per_face, strength, max_strength),
            language="python",
            wrap_lines=True,
        )


def _direction_method(method: str) -> str:
    """The ganlib.directions method behind a page method (keep the person edits along the class-mean difference)."""
    return "mean_difference" if method == services.KEEP_PERSON else method


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
            "classifier in z (InterFaceGAN). 3 exemplars: the DCGAN paper's mean of 3 faces with minus 3 without, "
            "the classifier's surest faces furthest apart along the class means' line; noisier. Keep the person: "
            f"the class-mean difference, {KEEPING}; judged also by a second classifier it never saw.",
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
    if method == services.KEEP_PERSON:
        _keep_person_report(report, attribute, strength)
        return
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
            cells[2].caption(_stored_caption(stored, attribute, method, conditional))


def _keep_person_report(report: dict, attribute: str, strength: float) -> None:
    """The edit's figures by the classifier it was optimised against, and by the second judge, which it never saw."""
    adding = strength > 0
    prefix, keep_key = ("add", "keep_others") if adding else ("remove", "remove_keep_others")
    judges = {"the classifier it steers by": report}
    if isinstance(report.get("second_judge"), dict):
        judges["a second judge it never saw"] = report["second_judge"]
    with st.container(border=True, key="edit_report"):
        cells = st.columns(len(judges) + 1, vertical_alignment="center")
        for cell, (name, figures) in zip(cells, judges.items()):
            cell.metric(
                f"{attribute} {'added' if adding else 'removed'}, per {name}",
                _percent(figures.get(f"{prefix}_success", float("nan"))),
                f"all other attributes kept: {_percent((figures.get(keep_key) or {}).get('joint', float('nan')))}",
                delta_color="off",
                delta_arrow="off",
            )
        cells[-1].caption(
            f"Measured on {report.get(f'{prefix}_faces', 0)} fresh random faces that "
            f"{'lacked' if adding else 'had'} {attribute}, each moved by {abs(strength):.2f} × the class-mean distance "
            "and then kept. The second judge is another network (other architecture, seed and training pictures): an "
            "edit that only fooled the first would fail it."
        )


def _stored_caption(stored: dict, attribute: str, method: str, conditional: bool) -> str:
    """The full measurement ``ganlib evaluate`` stored, quoted only beside the edit it measured: another method's
    or setting's figures beside this edit's estimate would read as this edit's."""
    stored_edit = f"the {METHODS[stored['method']]} direction{', conditional' if stored['conditional'] else ''}"
    if (stored["method"], stored["conditional"]) != (method, conditional):
        return (
            f"No full measurement of the {METHODS[method]} direction{', conditional' if conditional else ''} is "
            f"stored with this model (`ganlib evaluate` stored the figures of {stored_edit}"
            f"{'' if stored['conditional'] else ' without conditioning'} only)."
        )
    return (
        f"Full measurement stored with this model (`ganlib evaluate`: {stored_edit}, strength "
        f"{stored['strength']:g}, {stored['n']} faces): add / remove {attribute} {plain(stored['figures'])}."
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
