"""Arithmetic, components mode: directions nobody labelled (SeFa, GANSpace), each named by the attribute the
classifier sees it change most, moved with one strength slider, and measured next to a random direction of the
same length. Needs no classifier: on digits or a user's own data it is the only kind of direction there is."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import services
from dashboard.state import COMPONENT_STRENGTH_RANGE, MAX_SEED
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
        "2020). Each is named by what the classifier sees change most between strength −3 and +3.",
    )
    low, high = COMPONENT_STRENGTH_RANGE
    st.slider(
        "Strength (standard deviations of z)",
        low,
        high,
        step=0.5,
        key="component_strength",
        help="z's coordinate along any unit vector has standard deviation 1: ±3 reaches the edge of what G saw.",
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
    component = chosen.component
    step = services.COMPONENT_STEP
    if chosen.attribute is not None:
        reading = (
            f"from {-step:g} to {step:+g} along it, the classifier sees **{plain(chosen.attribute)}** on "
            f"{abs(100 * chosen.change):.0f} points {'more' if chosen.change > 0 else 'fewer'} of "
            f"{services.COMPONENT_NAMING_FACES} faces (a random direction: {100 * chosen.random_change:+.0f})"
        )
    else:
        least, over_random = services.COMPONENT_NAMING_RULE
        why = (
            f"no attribute of the classifier changes clearly (at least {100 * least:.0f} points from {-step:g} to "
            f"{step:+g}, and {over_random:g} times a random direction's change)"
            if services.binary_attributes(path)
            else "this model has no attribute classifier, so the pixels and D's features measure it"
        )
        reading = f"unnamed: {why}; “× random” is its mean pixel change at {step:+g} over a random direction's"
    weight = (
        f"eigenvalue {component.weight:,.0f}"
        if component.method == "sefa"
        else f"{component.weight:.1%} of the first block's variance"
    )
    closest = services.closest_component(path, component.id)
    twin = f" · closest {closest[0]} (|cos| {closest[1]:.2f})" if closest else ""
    st.caption(f"**{component.label}** ({weight}{twin}): {reading}.")


def _effect(path: str, model, chosen, strength: float) -> None:
    if strength == 0:
        st.caption("Strength 0 moves nothing: choose a strength to measure the component.")
        return
    effect = services.component_effect(path, chosen.component.id, strength)
    mine, chance = effect["component"], effect["random"]
    label = chosen.component.label
    with st.container(border=True, key="component_effect"):
        cells = st.columns(3 if model.classifier is not None else 2)
        if model.classifier is not None:
            # the attribute it is named by; an unnamed one shows its largest change at this strength
            top = chosen.attribute or max(mine["attributes"], key=lambda a: abs(mine["attributes"][a]))
            cells[0].metric(
                f"{plain(top)}, frequency" if chosen.attribute else f"largest change: {plain(top)}",
                _points(mine["attributes"][top]),
                f"random direction: {_points(chance['attributes'][top])}",
                delta_color="off",
                delta_arrow="off",
            )
        cells[-2].metric(
            "pixels changed (of 255)",
            f"{mine['pixels']:.1f}",
            f"random direction: {chance['pixels']:.1f}",
            delta_color="off",
            delta_arrow="off",
        )
        if mine["discriminator"] is not None:
            cells[-1].metric(
                "D's features moved",
                f"{mine['discriminator']:.0%}",
                f"random direction: {chance['discriminator']:.0%}",
                delta_color="off",
                delta_arrow="off",
            )
        if model.classifier is not None:
            _attribute_chart(mine["attributes"], chance["attributes"], label, strength)
        first = services.COMPONENT_MEASURE_SEED
        st.caption(
            f"Measured on {services.COMPONENT_FACES} fresh faces (seeds {first:,}–{first + services.COMPONENT_FACES - 1:,}) "
            f"moved by {strength:+.1f} along {label}, and along a fixed random direction of the same length: what any "
            f"push this big does by chance. Pixels: the mean absolute change of a pixel; D's features: how far the "
            f"discriminator's view of a face moves, relative to its size."
        )


def _attribute_chart(mine: dict, chance: dict, label: str, strength: float) -> None:
    """Each attribute's frequency change, the component's bar above the random direction's, largest first."""
    names = sorted(mine, key=lambda a: abs(mine[a]))  # plotly draws the first category at the bottom
    figure = go.Figure()
    for name, values, color in (("random direction", chance, COLORS["random"]), (label, mine, COLORS["component"])):
        figure.add_trace(
            go.Bar(
                y=[plain(a) for a in names],
                x=[100 * values[a] for a in names],
                name=name,
                orientation="h",
                marker_color=color,
                text=[f"{100 * values[a]:+.0f}" for a in names],
                textposition="outside",
                cliponaxis=False,
            )
        )
    reach = max(10.0, *(abs(100 * v) for v in (*mine.values(), *chance.values())))
    figure.update_layout(
        barmode="group",
        height=60 + 34 * len(names),
        margin={"l": 10, "r": 30, "t": 40, "b": 10},
        title=f"How often the classifier sees each attribute, change at strength {strength:+.1f} (points)",
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


def _points(change: float) -> str:
    return f"{100 * change:+.0f} pts"


def _snippet(path: str, chosen, seeds: tuple[int, ...], strength: float) -> None:
    st.caption("Reproduce in Python:")
    st.code(
        f"from ganlib.explorer import Explorer\n"
        f"explorer = Explorer.from_checkpoint({services.cli_path(path)!r})\n"
        f"component = next(c for c in explorer.components() if c.id == {chosen.component.id!r})  # "
        f"{chosen.component.label}\n"
        f"images = explorer.move({list(seeds)}, component.vector, [0.0, {strength}])  # uint8 [faces, 2, H, W, 3]\n"
        f"# names and measured effects: ganlib.component_effects.named_components(explorer)",
        language="python",
        wrap_lines=True,
    )
