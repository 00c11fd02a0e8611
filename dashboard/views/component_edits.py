"""Arithmetic, components mode: directions nobody labelled (SeFa, GANSpace), each named by the attribute the
classifier sees it change most, moved with one strength slider, and measured next to a random direction of the
same length. Needs no classifier: on digits or a user's own data it is the only kind of direction there is.

Written for a room: the list's labels and the box say what happens to how many faces, read from one measurement
(services.component_effect: the same faces, moved from strength 0), so the box at +3 repeats the list's figure.
Eigenvalues, cosines and D's features wait in the Details expander."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import services
from dashboard.state import COMPONENT_STRENGTH_RANGE, COMPONENT_STRENGTH_STEP, MAX_SEED
from dashboard.text import plain
from dashboard.views import projected_faces
from dashboard.views.common import tile_scale

EDIT_FACES = 8  # the seed row, as the Directions mode shows
MAX_PINNED = 8  # pinned faces moved beside it: one row
COLORS = {"component": "#5b4bdb", "random": "#b0b0b0"}  # the theme's primary colour; chance in grey


def render(path: str, model, presenting: bool) -> None:
    try:
        named = {item.component.id: item for item in services.components(path)}
    except ValueError as error:  # a generator that is not a DCGAN stack from z (ganlib.components explains)
        st.warning(f"No components for this model: {plain(error)}")
        return
    if st.session_state["component"] not in named:
        st.session_state["component"] = next(iter(named))
    controls, pictures = st.columns([5, 14], gap="medium")
    with controls:
        _controls(named, presenting)
    chosen = named[st.session_state["component"]]
    strength = float(st.session_state["component_strength"])
    scale = tile_scale(model.image_size, presenting)
    with pictures:
        start = int(st.session_state["edit_seed"])
        seeds = tuple(range(start, start + EDIT_FACES))
        pins = tuple(st.session_state["pins"])[:MAX_PINNED]
        _before_after(path, chosen, seeds, strength, scale, "component_faces", f"Faces {seeds[0]}–{seeds[-1]}")
        if pins:
            more = len(st.session_state["pins"]) - len(pins)
            title = "Your pinned faces" + (f" (the first {len(pins)}; {more} more pinned)" if more else "")
            _before_after(path, chosen, pins, strength, scale, "component_pins", title)
        yours = projected_faces.codes(path)  # the Your image page's pictures, as latents
        if yours:
            _before_after(path, chosen, yours, strength, scale, "component_yours", "Your images")
    _describe(path, chosen)
    _effect(path, model, chosen, strength)
    _details(path, chosen, strength)
    if not presenting:
        _snippet(path, chosen, seeds, strength)


def _controls(named: dict, presenting: bool) -> None:
    st.radio(
        "Component",
        list(named),
        format_func=lambda key: named[key].title,
        key="component",
        help="SeFa: the directions that change G's first layer most, from its weights (Shen & Zhou 2021). "
        "PC (GANSpace): principal axes of G's first-layer activations over 5,000 random faces (Härkönen et al. "
        f"2020). Each is named by what the classifier sees change most on {services.COMPONENT_FACES} faces moved "
        f"from strength 0 to {services.COMPONENT_STEP:+g}: “hat: +64% of faces” means a hat on 64 more of every 100 "
        "faces. The box below measures the same faces at the slider's strength.",
    )
    low, high = COMPONENT_STRENGTH_RANGE
    st.slider(
        "Strength",
        low,
        high,
        step=COMPONENT_STRENGTH_STEP,
        key="component_strength",
        help="Standard deviations of z along the component: 0 leaves the faces as they are, ±3 reaches the edge "
        "of what G saw in training.",
    )
    if not presenting:
        st.number_input(
            "Faces from seed", 0, MAX_SEED - 20_000, step=EDIT_FACES, key="edit_seed", help="The row of faces moved."
        )


def _before_after(
    path, chosen, seeds: tuple[int | str, ...], strength: float, scale: int, key: str, title: str
) -> None:
    """One picture: the faces above, the same faces moved below; always EDIT_FACES columns wide, so that a few pins
    have the seed row's tile size instead of filling the page."""
    images = services.component_edit(path, chosen.component.id, seeds, (0.0, strength))
    rows = images.swapaxes(0, 1).reshape(-1, *images.shape[2:])  # the before row, then the after row
    padded = max(EDIT_FACES, len(seeds))
    if len(seeds) < padded:  # white tiles keep the two rows aligned
        blank = np.full((padded - len(seeds), *images.shape[2:]), 255, np.uint8)
        rows = np.concatenate([images[:, 0], blank, images[:, 1], blank])
    with st.container(key=key):
        st.markdown(f"**{title}** · top: before · bottom: after {strength:+.1f} along {chosen.component.label}")
        st.image(services.grid_png(rows, padded, scale), width="stretch")


def _describe(path: str, chosen) -> None:
    """The list's label as sentences a speaker can read out."""
    step = services.COMPONENT_STEP
    if chosen.attribute is not None:
        reading = (
            f"At strength {step:+g} the classifier sees “{plain(services.attribute_spoken(chosen.attribute))}” on "
            f"{abs(round(100 * chosen.change))} {'more' if chosen.change > 0 else 'fewer'} of every 100 faces than "
            f"at 0; along a random direction of the same length, {services.component_share(chosen.random_change)}"
        )
    else:
        why = "No attribute changes clearly" if services.binary_attributes(path) else "This model has no classifier"
        reading = (
            f"{why}, so it is unnamed. At strength {step:+g} it changes the pixels {chosen.pixel_ratio:.1f} times as "
            "much as a random direction of the same length"
        )
    st.caption(f"**{plain(chosen.title)}**. {reading}.")


def _effect(path: str, model, chosen, strength: float) -> None:
    """The box: the component's figures at the slider's strength beside the random direction's, on the faces the
    list's labels were read from (at +3 its figures are the label's)."""
    if strength == 0:
        st.caption("Strength 0 moves nothing: drag the strength to move the faces and measure the change.")
        return
    effect = services.component_effect(path, chosen.component.id, strength)
    mine, chance = effect["component"], effect["random"]
    label = chosen.component.label
    with st.container(border=True, key="component_effect"):
        cells = st.columns(2 if model.classifier is not None else 1)
        if model.classifier is not None:
            # the attribute it is named by; an unnamed one shows its largest change at this strength
            top = chosen.attribute or max(mine["attributes"], key=lambda a: abs(mine["attributes"][a]))
            spoken = plain(services.attribute_spoken(top))
            cells[0].metric(
                f"{spoken} at {strength:+.1f}" if chosen.attribute else f"largest change at {strength:+.1f}: {spoken}",
                services.component_share(mine["attributes"][top]),
                f"random direction: {services.component_share(chance['attributes'][top])}",
                delta_color="off",
                delta_arrow="off",
            )
        ratio = mine["pixels"] / max(chance["pixels"], 1e-12)
        cells[-1].metric(
            "pixels changed (of 255)",
            f"{mine['pixels']:.1f}",
            f"random direction: {chance['pixels']:.1f} · this one {ratio:.1f}× random",
            delta_color="off",
            delta_arrow="off",
        )
        if model.classifier is not None:
            _attribute_chart(mine["attributes"], chance["attributes"], label, strength)
        st.caption(
            f"Measured on the {services.COMPONENT_FACES} faces the list's names come from, moved from 0 to "
            f"{strength:+.1f} along {label}, and as far along a fixed random direction: what any push this big does "
            f"by chance. At {services.COMPONENT_STEP:+g} these are the list's figures."
        )


def _details(path: str, chosen, strength: float) -> None:
    """What a researcher asks and an audience need not see: the component's weight, its twin in the other method,
    the naming rule and D's view."""
    component = chosen.component
    step, first, faces = services.COMPONENT_STEP, services.COMPONENT_MEASURE_SEED, services.COMPONENT_FACES
    least, over_random = services.COMPONENT_NAMING_RULE
    weight = (
        f"eigenvalue {component.weight:,.0f} (the squared change of G's first layer per unit step)"
        if component.method == "sefa"
        else f"{component.weight:.1%} of the variance of G's first block"
    )
    closest = services.closest_component(path, component.id)
    twin = f"; closest {closest[0]} of the other method (|cos| {closest[1]:.2f})" if closest else ""
    rule = (
        f"A name is the attribute whose frequency changes most from 0 to {step:+g}, when it changes by at least "
        f"{100 * least:.0f} percentage points and {over_random:g} times the random direction's change; “+64% of "
        "faces” is that frequency change in percentage points."
        if services.binary_attributes(path)
        else "This model has no attribute classifier, so the pixels and D's features measure it."
    )
    rule += f" An unnamed one's “× random” is its mean pixel change at {step:+g} over a random direction's."
    with st.expander("Details"):
        st.caption(f"**{component.label}**: {weight}{twin}.")
        st.caption(
            f"{rule} Faces: seeds {first:,}–{first + faces - 1:,}, which no direction was fitted on. Pixels: the mean "
            "absolute change of a pixel, in grey levels."
        )
        if strength != 0:
            effect = services.component_effect(path, component.id, strength)
            mine, chance = effect["component"]["discriminator"], effect["random"]["discriminator"]
            if mine is not None:
                st.metric(
                    f"D's features moved at {strength:+.1f}",
                    f"{mine:.0%}",
                    f"random direction: {chance:.0%}",
                    delta_color="off",
                    delta_arrow="off",
                    help="How far the discriminator's view of a face moves, relative to its size.",
                )


def _attribute_chart(mine: dict, chance: dict, label: str, strength: float) -> None:
    """Each attribute's change in the share of faces, the component's bar above the random direction's, largest
    first."""
    names = sorted(mine, key=lambda a: abs(mine[a]))  # plotly draws the first category at the bottom
    figure = go.Figure()
    for name, values, color in (("random direction", chance, COLORS["random"]), (label, mine, COLORS["component"])):
        figure.add_trace(
            go.Bar(
                y=[services.attribute_spoken(a) for a in names],
                x=[100 * values[a] for a in names],
                name=name,
                orientation="h",
                marker_color=color,
                text=[f"{100 * values[a]:+.0f}%" for a in names],
                textposition="outside",
                cliponaxis=False,
            )
        )
    reach = max(10.0, *(abs(100 * v) for v in (*mine.values(), *chance.values())))
    figure.update_layout(
        barmode="group",
        height=60 + 34 * len(names),
        margin={"l": 10, "r": 30, "t": 40, "b": 10},
        title=f"Faces with each attribute at {strength:+.1f}, compared with 0 (% of faces)",
        title_font_size=15,
        font={"size": 13},  # legible from the back of a room, where the page is shown
        xaxis={"range": [-reach * 1.2, reach * 1.2], "zeroline": True, "zerolinecolor": "#888"},
        legend={
            "orientation": "h",
            "y": 1.02,
            "x": 1,
            "xanchor": "right",
            "yanchor": "bottom",
            "traceorder": "reversed",
        },
        bargap=0.25,
    )
    st.plotly_chart(figure, key="component_chart", width="stretch", config={"displayModeBar": False})


def _snippet(path: str, chosen, seeds: tuple[int, ...], strength: float) -> None:
    st.caption("Reproduce in Python:")
    st.code(
        f"from ganlib.explorer import Explorer\n"
        f"explorer = Explorer.from_checkpoint({services.cli_path(path)!r})\n"
        f"component = next(c for c in explorer.components() if c.id == {chosen.component.id!r})  # "
        f"{chosen.component.label}\n"
        f"images = explorer.move({list(seeds)}, component.vector, [0.0, {strength}])  # uint8 [faces, 2, H, W, 3]\n"
        f"# names and figures: ganlib.component_effects.named_components(explorer), measure(explorer, vector, strength)",
        language="python",
        wrap_lines=True,
    )
