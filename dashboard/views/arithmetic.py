"""Arithmetic: analogies A - B + C on averaged exemplars (views/analogies.py), attribute directions, "add
sunglasses" (views/attribute_edits.py), measured by the attribute classifier where one exists, and directions found
without labels (views/component_edits.py)."""

from __future__ import annotations

import streamlit as st

from dashboard import services, state
from dashboard.views import analogies, attribute_edits, component_edits
from dashboard.views.common import model_or_stop

MODES = ("Analogies", "Directions", "Components")


def render() -> None:
    path = state.current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Latent arithmetic")
    has_classifier = model.classifier is not None
    top = st.columns([3, 2]) if has_classifier else [st.container()]
    top[0].segmented_control(
        "Show",
        MODES,
        key="arithmetic_mode",
        required=True,
        label_visibility="collapsed",
        help="Components: SeFa and GANSpace directions, found without labels (any checkpoint).",
    )
    if has_classifier and "sunglasses" in services.binary_attributes(path):
        top[1].button(
            "Add sunglasses: one-click demo",
            key="demo_sunglasses",
            type="primary",
            icon=":material/auto_awesome:",
            width="stretch",
            on_click=_start_demo,
        )
    mode = st.session_state["arithmetic_mode"]
    if mode == "Analogies":
        analogies.render(path, model, presenting)
    elif mode == "Components":
        component_edits.render(path, model, presenting)
    else:
        if not has_classifier:  # without labels, components are the directions that need no pins
            st.button(
                "Or use the directions this model uses most, found without labels: Components",
                key="open_components",
                icon=":material/explore:",
                on_click=st.session_state.update,
                kwargs={"arithmetic_mode": "Components"},
            )
        attribute_edits.render(path, model, presenting)


def _start_demo() -> None:
    st.session_state.update(arithmetic_mode="Directions", **attribute_edits.DEMO)
