"""Arithmetic, analogies mode: A - B + C where each term is the mean of k exemplar latents (DCGAN paper, section 6.3:
single exemplars are unstable; the concept noise of a k-exemplar mean shrinks like 1/sqrt(k))."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import services, state
from dashboard.state import MAX_EXEMPLARS
from dashboard.views.common import concept_label, describe_attributes, seed_list, tile_scale

TERMS = {"term_a": "A", "term_b": "B", "term_c": "C"}
NEIGHBOURS, NEIGHBOUR_NOISE = 4, 0.25
# the DCGAN paper's structure with ToonFaces attributes: (sunglasses) - (plain) + (hat) = sunglasses and a hat
EXAMPLE_ANALOGY = {
    "term_a": ("+sunglasses", "-hat"),
    "term_b": ("-sunglasses", "-hat"),
    "term_c": ("-sunglasses", "+hat"),
}


def render(path: str, model, presenting: bool) -> None:
    _default_terms(path, model)
    if st.session_state.pop("_search_further", False):  # the button below: before the term widgets are drawn
        _search_further(path)
    _pins_note()
    if not presenting:
        _term_controls(path, model)
    terms = [tuple(st.session_state[key]) for key in TERMS]
    missing = [TERMS[key] for key, seeds in zip(TERMS, terms) if not seeds]
    if missing:
        st.warning(f"Term {', '.join(missing)} has no exemplars: pick pinned samples or type seeds.")
        return
    result = services.analogy(
        path, *terms, neighbours=NEIGHBOURS, noise=NEIGHBOUR_NOISE, neighbour_seed=st.session_state["neighbour_seed"]
    )
    scale = tile_scale(model.image_size, presenting)
    columns = st.columns([4, 1, 4, 1, 4, 1, 5], vertical_alignment="center")
    for index, (key, column) in enumerate(zip(TERMS, columns[0::2])):
        with column, st.container(key=f"term_{TERMS[key].lower()}_view"):
            seeds = terms[index]
            if len(seeds) > 1:
                st.markdown(f"**{TERMS[key]}** · mean of {len(seeds)}")
                st.image(
                    services.grid_png(result.exemplars[index], min(len(seeds), 5), max(1, scale // 3)),
                    caption=seed_list(seeds),
                    width="stretch",
                )
                caption = (
                    f"G(mean z) · ‖z̄‖ = {result.mean_norms[index]:.1f} "
                    f"(noise alone: {math.sqrt(model.latent_dim / len(seeds)):.1f})"
                )
            else:
                st.markdown(f"**{TERMS[key]}** · one exemplar")
                caption = f"#{seeds[0]} · ‖z‖ = {result.mean_norms[index]:.1f}"
            st.image(
                services.upscaled(result.means[index], scale), width="stretch", output_format="PNG", caption=caption
            )
    for column, sign in zip(columns[1::2], ("−", "+", "=")):
        column.markdown(f"<div style='font-size:3rem;text-align:center'>{sign}</div>", unsafe_allow_html=True)
    with columns[6], st.container(key="analogy_result"):
        st.markdown("**A − B + C**")
        reading = (
            f" · classifier: {describe_attributes(result.result_attributes, 0, model.attributes)}"
            if result.result_attributes
            else ""
        )
        st.image(
            services.upscaled(result.result[0], scale * 2 if not presenting else scale),
            width="stretch",
            output_format="PNG",
            caption=f"‖z‖ = {result.result_norm:.1f}{reading}",
        )
    _neighbours(result, model, scale)
    _noise_lesson(result, terms, model.latent_dim)


def _default_terms(path: str, model) -> None:
    """Never an empty page on arrival: the classifier's example analogy, else the pins in three groups (said so
    above the terms), else seeds 0-8. Once per session and model only: terms the user set, or emptied, are theirs,
    and pins change them only through the "Use my pins" button."""
    if st.session_state.get("_terms_defaulted") == path:
        return
    st.session_state["_terms_defaulted"] = path
    if any(st.session_state[key] for key in TERMS):
        return
    pins = list(st.session_state["pins"])
    if model.classifier is not None and not pins:
        _fill_example(path)
    elif len(pins) >= 3:
        _use_pins()
    else:
        for index, key in enumerate(TERMS):
            st.session_state[key] = [3 * index, 3 * index + 1, 3 * index + 2]


def _pin_groups(pins: list[int]) -> list[list[int]]:
    """Pins as the three terms: three each from nine pins on, else one each (the first 3 or 9 pins)."""
    size = 3 if len(pins) >= 9 else 1
    return [pins[index * size : (index + 1) * size] for index in range(len(TERMS))]


def _use_pins() -> None:
    """Fill A, B and C from the pins (on arrival with empty terms, or the button): the note above the terms says so
    while they are unchanged."""
    groups = _pin_groups(list(st.session_state["pins"]))
    for key, seeds in zip(TERMS, groups):
        st.session_state[key] = list(seeds)
    st.session_state["_terms_from_pins"] = [list(seeds) for seeds in groups]
    st.session_state.pop("_exemplar_pending", None)


def _pins_note() -> None:
    filled = st.session_state.get("_terms_from_pins")
    if filled and [list(st.session_state[key]) for key in TERMS] == filled:
        parts = [f"{TERMS[key]} = {seed_list(seeds)}" for key, seeds in zip(TERMS, filled)]
        st.caption(f"Terms from your pins: {'; '.join(parts)}.", help="Change them below; pins never replace them.")


def _term_controls(path: str, model) -> None:
    pins = list(st.session_state["pins"])
    for key, column in zip(TERMS, st.columns(3)):
        with column:
            options = list(dict.fromkeys(pins + list(st.session_state[key])))
            st.multiselect(
                f"Term {TERMS[key]} exemplars",
                options,
                key=key,
                format_func=lambda s: f"#{s}",
                help="Pinned samples are offered here. The term is the mean of the exemplars' z.",
                on_change=_drop_pending,
                args=(key,),
            )
            st.text_input(
                f"Add seeds to {TERMS[key]}",
                key=f"_typed_{key}",
                placeholder="e.g. 3, 17",
                on_change=_add_typed,
                args=(key,),
                label_visibility="collapsed",
            )
    error = st.session_state.pop("_term_error", None)
    if error:
        st.error(error)
    if len(pins) >= 3:
        groups = " / ".join(seed_list(seeds) for seeds in _pin_groups(pins))
        st.button(
            f"Use my pins as A / B / C: {groups}",
            key="terms_from_pins",
            icon=":material/keep:",
            on_click=_use_pins,
            help="Replaces the three terms with your pins (three each from nine pins on).",
        )
    if model.classifier is not None:
        _fill_controls(path)
    else:
        st.caption("This model has no attribute classifier: pick exemplars by hand (pin them on the Samples page).")


def _add_typed(key: str) -> None:
    state.add_typed_seeds(key, f"_typed_{key}", "_term_error")
    _drop_pending(key)


def _fill_controls(path: str) -> None:
    concepts = [sign + name for name in services.binary_attributes(path) for sign in "+-"]
    with st.container(border=True, key="fill_panel"):
        left, middle, right, button = st.columns([1, 3, 2, 2], vertical_alignment="bottom")
        left.selectbox("Term", list(TERMS), format_func=TERMS.get, key="_fill_term")
        middle.multiselect(
            "Exemplars that the classifier sees as",
            concepts,
            format_func=concept_label,
            key="_fill_concepts",
            default=["+sunglasses"] if "+sunglasses" in concepts else None,
        )
        right.slider(
            "k exemplars",
            1,
            MAX_EXEMPLARS,
            key="exemplar_k",
            help="Averaging k faces shrinks what is special about each one like 1/√k.",
        )
        button.button(
            "Fill term",
            key="fill_term",
            icon=":material/auto_fix_high:",
            width="stretch",
            on_click=_fill_term,
            args=(path,),
        )
        example, explanation = st.columns([2, 5], vertical_alignment="center")
        example.button(
            "Example: (sunglasses) − (plain) + (hat)",
            key="example_analogy",
            on_click=_fill_example,
            args=(path,),
            width="stretch",
        )
        explanation.caption(
            "Fills A, B and C with k faces each that the classifier picked; the result should "
            "wear both sunglasses and a hat."
        )
        note = st.session_state.pop("_fill_note", None)
        if note:
            st.warning(note)
        _search_further_button(path)


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
    """Search the first faces that the request budget allows (services.exemplar_search_budget: a slow model, such
    as a 128-px upload, scans fewer); a search that comes up short can go on behind the "Search further" button."""
    k = st.session_state["exemplar_k"]
    scanned = services.exemplar_search_budget(path)
    seeds = services.exemplar_seeds(path, concepts, k, 0, scanned)
    pending = _pending(path)
    pending.pop(key, None)
    if len(seeds) < k:
        _add_note(_short_note(key, concepts, seeds, scanned))
        if scanned < services.EXEMPLAR_SEARCH_LIMIT:
            pending[key] = {"concepts": list(concepts), "k": k, "seeds": list(seeds), "next": scanned}
    st.session_state["_exemplar_pending"] = {"path": path, "terms": pending}
    if seeds:
        st.session_state[key] = list(seeds)


def _short_note(key: str, concepts, seeds, scanned: int) -> str:
    if not scanned:
        return f"This model draws too slowly to search exemplars for term {TERMS[key]} unasked: search below."
    found = f"term {TERMS[key]} uses those" if seeds else f"term {TERMS[key]} is unchanged"
    return (
        f"Only {len(seeds)} of the first {scanned:,} faces look {' and '.join(map(concept_label, concepts))}; {found}."
    )


def _add_note(note: str) -> None:
    earlier = st.session_state.get("_fill_note")
    st.session_state["_fill_note"] = f"{earlier}  \n{note}" if earlier else note


def _pending(path: str) -> dict:
    """Terms whose exemplar search stopped at the request budget: term key -> {concepts, k, seeds found, next}."""
    pending = st.session_state.get("_exemplar_pending")
    return dict(pending["terms"]) if pending and pending.get("path") == path else {}


def _drop_pending(key: str) -> None:
    """The user changed the term: a search further must not overwrite it."""
    pending = st.session_state.get("_exemplar_pending")
    if pending:
        pending["terms"].pop(key, None)


def _search_further_button(path: str) -> None:
    pending = _pending(path)
    if not pending:
        return
    first = min(term["next"] for term in pending.values())
    more = services.EXEMPLAR_SEARCH_LIMIT - first
    seconds = services.images_seconds(path, more)
    duration = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    st.button(
        f"Search {more:,} more faces for term {', '.join(TERMS[key] for key in pending)} (up to about {duration})",
        key="search_further",
        icon=":material/search:",
        on_click=st.session_state.update,
        kwargs={"_search_further": True},
        help=f"Arriving, the page scans only as many faces as this model draws in about "
        f"{services.REQUEST_SECONDS:.0f} s; this goes on up to face {services.EXEMPLAR_SEARCH_LIMIT:,}.",
    )


def _search_further(path: str) -> None:
    """The rest of the searches that stopped at the request budget, EXEMPLAR_BATCH faces at a time, with a progress
    bar; the terms take what is found."""
    pending = _pending(path)
    st.session_state.pop("_exemplar_pending", None)
    if not pending:
        return
    first, last = min(term["next"] for term in pending.values()), services.EXEMPLAR_SEARCH_LIMIT
    bar = st.progress(0.0, text=f"Searching faces {first:,}–{last - 1:,} with the classifier")
    for start in range(first, last, services.EXEMPLAR_BATCH):
        for term in pending.values():
            if len(term["seeds"]) < term["k"] and term["next"] <= start:
                needed = term["k"] - len(term["seeds"])
                concepts = tuple(term["concepts"])
                term["seeds"] += services.exemplar_seeds(path, concepts, needed, start, services.EXEMPLAR_BATCH)
                term["next"] = start + services.EXEMPLAR_BATCH
        done = min(last, start + services.EXEMPLAR_BATCH)
        bar.progress((done - first) / (last - first), text=f"Searched faces {first:,}–{done - 1:,}")
        if all(len(term["seeds"]) >= term["k"] for term in pending.values()):
            break
    bar.empty()
    for key, term in pending.items():
        if term["seeds"]:
            st.session_state[key] = list(term["seeds"])
        if len(term["seeds"]) < term["k"]:
            _add_note(_short_note(key, term["concepts"], term["seeds"], last))


def _neighbours(result, model, scale: int) -> None:
    st.markdown(f"**Neighbours of the result:** A − B + C + {result.noise} · z(seed), to see how stable it is")
    for index, column in enumerate(st.columns(len(result.neighbour_seeds) + 2)[: len(result.neighbour_seeds)]):
        reading = (
            f" · {describe_attributes(result.result_attributes, index + 1, model.attributes)}"
            if result.result_attributes
            else ""
        )
        column.image(
            services.upscaled(result.result[index + 1], scale),
            width="stretch",
            output_format="PNG",
            caption=f"noise seed {result.neighbour_seeds[index]}{reading}",
        )
    if not st.session_state["presentation"]:
        st.columns([1, 3])[0].number_input(
            "Neighbour noise seed", 0, 2**31 - 1 - NEIGHBOURS, step=NEIGHBOURS, key="neighbour_seed"
        )


def _noise_lesson(result, terms, latent_dim: int) -> None:
    k_a, k_b = len(terms[0]), len(terms[1])
    k_fifty = math.sqrt(latent_dim / 50 + latent_dim / 50)
    # independent noise adds in squares, so what stands above the noise floor estimates the concept's own length
    signal = math.sqrt(max(0.0, result.difference_norm**2 - result.noise_floor**2))
    with st.container(border=True, key="noise_lesson"):
        measured, concept, text = st.columns([1, 1, 3], vertical_alignment="center")
        measured.metric(
            "‖z̄_A − z̄_B‖ (measured)",
            f"{result.difference_norm:.1f}",
            f"random groups: {result.noise_floor:.1f}",
            delta_color="off",
            delta_arrow="off",
        )
        concept.metric(
            "concept A − B beyond noise",
            f"≈ {signal:.1f}",
            "√(measured² − random²)",
            delta_color="off",
            delta_arrow="off",
        )
        text.markdown(
            f"**Why average exemplars?** Each face's z carries everything particular about that face. "
            f"Two groups of unrelated random faces of sizes {k_a} and {k_b} already differ by "
            f"√(d/k_A + d/k_B) = **{result.noise_floor:.1f}** in {latent_dim} dimensions, while an attribute's "
            f"own signal is typically 1–2 (a prototype measured 1.7). With one exemplar per term the concept is "
            f"drowned in noise; the noise shrinks like 1/√k (k = 50 per term: {k_fifty:.1f})."
        )
