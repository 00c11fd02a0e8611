"""Arithmetic: analogies A - B + C on averaged exemplars (DCGAN paper, section 6.3) and attribute directions
("add sunglasses"), measured by the attribute classifier where one exists."""
from __future__ import annotations

import math

import streamlit as st

from dashboard import services, state
from dashboard.sidebar import current_checkpoint
from dashboard.views.common import describe_attributes, model_or_stop, tile_scale

MODES = ("Analogies", "Directions")
TERMS = {"term_a": "A", "term_b": "B", "term_c": "C"}
NEIGHBOURS, NEIGHBOUR_NOISE = 4, 0.25
EDIT_FACES = 8
MAX_EXEMPLARS = 50
METHODS = {"mean_difference": "class-mean difference", "svm": "linear SVM normal", "exemplar3": "3 exemplars vs 3"}
# the stage demo: the SVM normal with the other attributes projected out kept hats, hair and smiles unchanged on
# 93-100% of faces, and added sunglasses more often than the class-mean difference at the same strength
DEMO = {"direction": "sunglasses", "direction_method": "svm", "conditional": True, "strength": 2.0, "edit_seed": 0}
# the DCGAN paper's structure with ToonFaces attributes: (sunglasses) - (plain) + (hat) = sunglasses and a hat
EXAMPLE_ANALOGY = {"term_a": ("+sunglasses", "-hat"), "term_b": ("-sunglasses", "-hat"),
                   "term_c": ("-sunglasses", "+hat")}


def render() -> None:
    path = current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Latent arithmetic")
    has_classifier = model.classifier is not None
    _repair_state()
    top = st.columns([3, 2]) if has_classifier else [st.container()]
    top[0].segmented_control("Show", MODES, key="arithmetic_mode", required=True, label_visibility="collapsed")
    if has_classifier and "sunglasses" in services.binary_attributes(path):
        top[1].button("Add sunglasses: one-click demo", key="demo_sunglasses", type="primary",
                      icon=":material/auto_awesome:", width="stretch", on_click=_start_demo)
    if st.session_state["arithmetic_mode"] == "Analogies":
        _analogies(path, model, presenting)
    else:
        _directions(path, model, presenting)


def _repair_state() -> None:
    """Values from a hand-edited URL are brought inside the widgets' bounds instead of breaking the page."""
    if st.session_state["arithmetic_mode"] not in MODES:
        st.session_state["arithmetic_mode"] = MODES[0]
    for key in list(TERMS) + ["positive_pins", "negative_pins"]:
        st.session_state[key] = [s for s in dict.fromkeys(st.session_state[key]) if 0 <= s < 2**31]
    bounds = {"strength": (-3.0, 3.0), "exemplar_k": (1, MAX_EXEMPLARS),
              "edit_seed": (0, 2**31 - 1 - services.EXEMPLAR_SEARCH_LIMIT), "neighbour_seed": (0, 2**31 - 1 - NEIGHBOURS)}
    for key, (low, high) in bounds.items():
        st.session_state[key] = type(low)(min(high, max(low, st.session_state[key])))


def _start_demo() -> None:
    st.session_state.update(arithmetic_mode="Directions", **DEMO)


# ------------------------------------------------------------------------------------------------ analogies
def _analogies(path: str, model, presenting: bool) -> None:
    _default_terms(path, model)
    if not presenting:
        _term_controls(path, model)
    terms = [tuple(st.session_state[key]) for key in TERMS]
    missing = [TERMS[key] for key, seeds in zip(TERMS, terms) if not seeds]
    if missing:
        st.warning(f"Term {', '.join(missing)} has no exemplars: pick pinned samples or type seeds.")
        return
    result = services.analogy(path, *terms, neighbours=NEIGHBOURS, noise=NEIGHBOUR_NOISE,
                              neighbour_seed=st.session_state["neighbour_seed"])
    scale = tile_scale(model.image_size, presenting)
    columns = st.columns([4, 1, 4, 1, 4, 1, 5], vertical_alignment="center")
    for index, (key, column) in enumerate(zip(TERMS, columns[0::2])):
        with column, st.container(key=f"term_{TERMS[key].lower()}_view"):
            seeds = terms[index]
            if len(seeds) > 1:
                st.markdown(f"**{TERMS[key]}** · mean of {len(seeds)}")
                st.image(services.grid_png(result.exemplars[index], min(len(seeds), 5), max(1, scale // 3)),
                         caption=_seed_list(seeds), width="stretch")
                caption = (f"G(mean z) · ‖z̄‖ = {result.mean_norms[index]:.1f} "
                           f"(noise alone: {math.sqrt(model.latent_dim / len(seeds)):.1f})")
            else:
                st.markdown(f"**{TERMS[key]}** · one exemplar")
                caption = f"#{seeds[0]} · ‖z‖ = {result.mean_norms[index]:.1f}"
            st.image(services.upscaled(result.means[index], scale), width="stretch", output_format="PNG",
                     caption=caption)
    for column, sign in zip(columns[1::2], ("−", "+", "=")):
        column.markdown(f"<div style='font-size:3rem;text-align:center'>{sign}</div>", unsafe_allow_html=True)
    with columns[6], st.container(key="analogy_result"):
        st.markdown("**A − B + C**")
        reading = (f" · classifier: {describe_attributes(result.result_attributes, 0, model.attributes)}"
                   if result.result_attributes else "")
        st.image(services.upscaled(result.result[0], scale * 2 if not presenting else scale), width="stretch",
                 output_format="PNG",
                 caption=f"‖z‖ = {result.result_norm:.1f}{reading}")
    _neighbours(result, model, scale)
    _noise_lesson(result, terms, model.latent_dim)


def _default_terms(path: str, model) -> None:
    """Never an empty page: the classifier's example analogy, else the pins in three groups, else seeds 0-8."""
    if any(st.session_state[key] for key in TERMS):
        return
    pins = list(st.session_state["pins"])
    if model.classifier is not None and not pins:
        _fill_example(path)
        return
    size = 3 if len(pins) >= 9 else 1 if len(pins) >= 3 else 0
    for index, key in enumerate(TERMS):
        st.session_state[key] = pins[index * size:(index + 1) * size] if size else [3 * index, 3 * index + 1, 3 * index + 2]


def _term_controls(path: str, model) -> None:
    pins = list(st.session_state["pins"])
    for key, column in zip(TERMS, st.columns(3)):
        with column:
            options = list(dict.fromkeys(pins + list(st.session_state[key])))
            st.multiselect(f"Term {TERMS[key]} exemplars", options, key=key, format_func=lambda s: f"#{s}",
                           help="Pinned samples are offered here. The term is the mean of the exemplars' z.")
            st.text_input(f"Add seeds to {TERMS[key]}", key=f"_typed_{key}", placeholder="e.g. 3, 17",
                          on_change=_add_typed, args=(key,), label_visibility="collapsed")
    error = st.session_state.pop("_term_error", None)
    if error:
        st.error(error)
    if model.classifier is not None:
        _fill_controls(path)
    else:
        st.caption("This model has no attribute classifier: pick exemplars by hand (pin them on the Samples page).")


def _add_typed(key: str) -> None:
    text = st.session_state.get(f"_typed_{key}", "")
    seeds = state.URL_STATE[key].parse(text)
    if len(seeds) != len([p for p in text.split(",") if p.strip()]) or any(s >= 2**31 for s in seeds):
        st.session_state["_term_error"] = f"Seeds are whole numbers from 0 to 2147483647; could not read {text!r}."
        return
    st.session_state[key] = list(dict.fromkeys(list(st.session_state[key]) + seeds))
    st.session_state[f"_typed_{key}"] = ""


def _concept_label(concept: str) -> str:
    name, _, value = concept[1:].partition("=")
    if value:
        return f"{name} {value}" if concept[0] == "+" else f"{name} not {value}"
    return f"with {name}" if concept[0] == "+" else f"without {name}"


def _fill_controls(path: str) -> None:
    concepts = [sign + name for name in services.binary_attributes(path) for sign in "+-"]
    with st.container(border=True, key="fill_panel"):
        left, middle, right, button = st.columns([1, 3, 2, 2], vertical_alignment="bottom")
        left.selectbox("Term", list(TERMS), format_func=TERMS.get, key="_fill_term")
        middle.multiselect("Exemplars that the classifier sees as", concepts, format_func=_concept_label,
                           key="_fill_concepts", default=["+sunglasses"] if "+sunglasses" in concepts else None)
        right.slider("k exemplars", 1, MAX_EXEMPLARS, key="exemplar_k",
                     help="Averaging k faces shrinks what is special about each one like 1/√k.")
        button.button("Fill term", key="fill_term", icon=":material/auto_fix_high:", width="stretch",
                      on_click=_fill_term, args=(path,))
        example, explanation = st.columns([2, 5], vertical_alignment="center")
        example.button("Example: (sunglasses) − (plain) + (hat)", key="example_analogy", on_click=_fill_example,
                       args=(path,), width="stretch")
        explanation.caption("Fills A, B and C with k faces each that the classifier picked; the result should "
                            "wear both sunglasses and a hat.")
        note = st.session_state.pop("_fill_note", None)
        if note:
            st.warning(note)


def _fill_term(path: str) -> None:
    key, concepts = st.session_state["_fill_term"], tuple(st.session_state["_fill_concepts"])
    if not concepts:
        st.session_state["_fill_note"] = "Choose what the exemplars should show first."
        return
    _fill(path, key, concepts)


def _fill_example(path: str) -> None:
    for key, concepts in EXAMPLE_ANALOGY.items():
        _fill(path, key, concepts)


def _fill(path: str, key: str, concepts: tuple[str, ...]) -> None:
    k = st.session_state["exemplar_k"]
    seeds = services.exemplar_seeds(path, concepts, k)
    if len(seeds) < k:
        st.session_state["_fill_note"] = (f"Only {len(seeds)} of {services.EXEMPLAR_SEARCH_LIMIT} faces look "
                                          f"{' and '.join(map(_concept_label, concepts))}; term {TERMS[key]} uses those.")
    if seeds:
        st.session_state[key] = list(seeds)


def _seed_list(seeds) -> str:
    shown = ", ".join(f"#{s}" for s in seeds[:8])
    return shown + (f" and {len(seeds) - 8} more" if len(seeds) > 8 else "")


def _neighbours(result, model, scale: int) -> None:
    st.markdown(f"**Neighbours of the result:** A − B + C + {result.noise} · z(seed), to see how stable it is")
    for index, column in enumerate(st.columns(len(result.neighbour_seeds) + 2)[:len(result.neighbour_seeds)]):
        reading = (f" · {describe_attributes(result.result_attributes, index + 1, model.attributes)}"
                   if result.result_attributes else "")
        column.image(services.upscaled(result.result[index + 1], scale), width="stretch", output_format="PNG",
                     caption=f"noise seed {result.neighbour_seeds[index]}{reading}")
    if not st.session_state["presentation"]:
        st.columns([1, 3])[0].number_input("Neighbour noise seed", 0, 2**31 - 1 - NEIGHBOURS, step=NEIGHBOURS,
                                            key="neighbour_seed")


def _noise_lesson(result, terms, latent_dim: int) -> None:
    k_a, k_b = len(terms[0]), len(terms[1])
    k_fifty = math.sqrt(latent_dim / 50 + latent_dim / 50)
    # independent noise adds in squares, so what stands above the noise floor estimates the concept's own length
    signal = math.sqrt(max(0.0, result.difference_norm ** 2 - result.noise_floor ** 2))
    with st.container(border=True, key="noise_lesson"):
        measured, concept, text = st.columns([1, 1, 3], vertical_alignment="center")
        measured.metric("‖z̄_A − z̄_B‖ (measured)", f"{result.difference_norm:.1f}",
                        f"random groups: {result.noise_floor:.1f}", delta_color="off", delta_arrow="off")
        concept.metric("concept A − B beyond noise", f"≈ {signal:.1f}", "√(measured² − random²)",
                       delta_color="off", delta_arrow="off")
        text.markdown(
            f"**Why average exemplars?** Each face's z carries everything particular about that face. "
            f"Two groups of unrelated random faces of sizes {k_a} and {k_b} already differ by "
            f"√(d/k_A + d/k_B) = **{result.noise_floor:.1f}** in {latent_dim} dimensions, while an attribute's "
            f"own signal is typically 1–2 (a prototype measured 1.7). With one exemplar per term the concept is "
            f"drowned in noise; the noise shrinks like 1/√k (k = 50 per term: {k_fifty:.1f}).")


# ----------------------------------------------------------------------------------------------- directions
def _directions(path: str, model, presenting: bool) -> None:
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
        st.warning(f"No {attribute} direction for this model: {error}")
        return
    concept = ("-" if strength >= 0 else "+") + attribute
    seeds = services.exemplar_seeds(path, (concept,), EDIT_FACES, st.session_state["edit_seed"])
    if not seeds:
        st.warning(f"The classifier found no face {_concept_label(concept)} to edit.")
        return
    images = services.attribute_edit(path, attribute, method, conditional, seeds, (0.0, strength))
    scale = tile_scale(model.image_size, presenting)
    verb = "adding" if strength >= 0 else "removing"
    st.caption(f"{len(seeds)} faces {_concept_label(concept)} (the classifier is sure; seeds "
               f"{', '.join(map(str, seeds))}) · {verb} {attribute} along the {METHODS[method]} direction"
               f"{', other attributes projected out' if conditional else ''} · strength {strength:+.2f} × the "
               f"class-mean distance ({summary['class_distance']:.2f} in z; direction from {summary['n']} samples)")
    probabilities = services.edit_probabilities(path, attribute, method, conditional, seeds, (0.0, strength))
    seen = (probabilities > 0.5).sum(axis=0)
    _before_after(images, seeds, scale, strength,
                  notes=(f"the classifier sees {attribute} on {seen[0]} of {len(seeds)}",
                         f"the classifier sees {attribute} on {seen[1]} of {len(seeds)}"))
    _edit_report(path, attribute, method, conditional, strength)
    if not presenting:
        st.caption("Reproduce in Python:")
        st.code(f"from ganlib.explorer import Explorer\n"
                f"explorer = Explorer.from_checkpoint({path!r})\n"
                f"direction = explorer.direction({attribute!r}, {method!r}, conditional={conditional}, "
                f"n={services.DIRECTION_SAMPLES})\n"
                f"images = explorer.edit({list(seeds)}, direction, [0.0, {strength}])  # uint8 [faces, 2, H, W, 3]",
                language="python", wrap_lines=True)


def _before_after(images, seeds, scale: int, strength: float, notes: tuple[str, str] = ("", "")) -> None:
    """Two rows, the same faces above each other: before, and after the edit."""
    columns = len(seeds)
    for key, title, row, note in (("edit_before", "Before", 0, notes[0]),
                                  ("edit_after", f"After (strength {strength:+.2f})", 1, notes[1])):
        with st.container(key=key):
            st.markdown(f"**{title}**" + (f" · {note}" if note else ""))
            st.image(services.grid_png(images[:, row], columns, scale), width="stretch")


def _direction_controls(attributes: list[str]) -> None:
    first, second, third = st.columns([2, 3, 3])
    with first:
        st.selectbox("Attribute", attributes, key="direction")
        st.toggle("Conditional", key="conditional",
                  help="Project the other attributes' directions out, so adding sunglasses does not also add a hat.")
    with second:
        st.radio("Direction from", list(METHODS), format_func=METHODS.get, key="direction_method",
                 help="Class-mean difference: mean z of faces with minus without. SVM: normal of a linear "
                      "classifier in z (InterFaceGAN). 3 exemplars: the DCGAN paper's 3-vs-3 means, noisy.")
    with third:
        st.slider("Strength (× class-mean distance; negative removes)", -3.0, 3.0, step=0.25, key="strength")
        st.number_input("Faces from seed", 0, 2**31 - 1 - services.EXEMPLAR_SEARCH_LIMIT, step=EDIT_FACES,
                        key="edit_seed", help="The first faces from this seed on that lack the attribute (or, "
                                              "for a negative strength, have it).")


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
        cells[0].metric(f"{attribute} {'added' if adding else 'removed'}", _percent(report[f"{prefix}_success"]),
                        f"random direction: {_percent(baseline[f'{prefix}_success'])}", delta_color="off",
                        delta_arrow="off")
        cells[1].metric("all other attributes kept", _percent(keep["joint"]),
                        f"random direction: {_percent(baseline_keep['joint'])}", delta_color="off", delta_arrow="off")
        cells[2].caption(
            f"Measured by the classifier on {report[f'{prefix}_faces']} of {report['n']} fresh random faces that "
            f"{'lacked' if adding else 'had'} {attribute} (it was sure), each moved by {abs(strength):.2f} × the "
            f"class-mean distance. The random direction has the same length: what any push this big does by chance. "
            f"Kept per attribute: " + ", ".join(f"{name} {_percent(value)}" for name, value in keep.items()
                                                if name != "joint") + ".")


def _percent(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"  # NaN: no face qualified


def _exemplar_directions(path: str, model, presenting: bool) -> None:
    st.info("This model has no attribute classifier (ganlib ships one for ToonFaces only), so attribute "
            "directions cannot be found or measured here. Build one from examples instead: pinned faces that show "
            "the attribute (positive) and pinned faces that do not (negative).", icon=":material/info:")
    pins = list(st.session_state["pins"])
    if not presenting:
        left, middle, right = st.columns([3, 3, 2])
        for key, column, label in (("positive_pins", left, "Positive: with the attribute"),
                                   ("negative_pins", middle, "Negative: without it")):
            options = list(dict.fromkeys(pins + list(st.session_state[key])))
            column.multiselect(label, options, key=key, format_func=lambda s: f"#{s}")
        with right:
            st.slider("Strength (× the positive − negative distance)", -3.0, 3.0, step=0.25, key="strength")
            st.number_input("Faces from seed", 0, 2**31 - 1 - services.EXEMPLAR_SEARCH_LIMIT, step=EDIT_FACES,
                            key="edit_seed")
    positive, negative = tuple(st.session_state["positive_pins"]), tuple(st.session_state["negative_pins"])
    if not positive or not negative:
        st.warning("Pin faces on the Samples page, then choose at least one positive and one negative here "
                   "(three or more each: single exemplars are noisy).")
        return
    strength = float(st.session_state["strength"])
    seeds = tuple(range(st.session_state["edit_seed"], st.session_state["edit_seed"] + EDIT_FACES))
    images = services.exemplar_edit(path, positive, negative, seeds, (0.0, strength))
    scale = tile_scale(model.image_size, presenting)
    st.caption(f"Direction: mean z of {_seed_list(positive)} minus mean z of {_seed_list(negative)} · faces "
               f"{seeds[0]}–{seeds[-1]} · strength {strength:+.2f}")
    _before_after(images, seeds, scale, strength)
