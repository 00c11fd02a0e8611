"""Small helpers shared by the pages (no torch here: models are reached through services)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import services, state
from dashboard.text import plain

TILE_PIXELS = 128  # on-screen tile side in normal mode; images are enlarged with nearest neighbour, never blurred
PRESENTATION_TILE_PIXELS = 256


def model_or_stop(path: str):
    """The Explorer for the current checkpoint, or a one-line message and an early end of the page."""
    if not path:
        st.info("No checkpoint is open. Pick or upload one in the sidebar, or start a training run.")
        st.stop()
    try:
        return services.explorer(path)
    except services.CheckpointError as error:
        st.error(plain(error), icon=":material/error:")
        st.stop()


def tile_scale(image_size: int, presenting: bool = False) -> int:
    target = PRESENTATION_TILE_PIXELS if presenting else TILE_PIXELS
    return max(1, target // image_size)


def describe_attributes(probabilities: dict[str, np.ndarray], index: int, classes: dict | None = None) -> str:
    """Short text of what the classifier sees in image ``index``: names of binary attributes that are
    present, and the most likely class of the others (e.g. "sunglasses, smiling, blond, dark")."""
    parts = []
    for name, probs in probabilities.items():
        row = probs[index]
        if row.shape[0] == 2:
            if row[1] > 0.5:
                parts.append(name)
        else:
            labels = (classes or {}).get(name)
            best = int(row.argmax())
            parts.append(labels[best] if labels else f"{name} {best}")
    return ", ".join(parts) or "-"


def concept_label(concept: str) -> str:
    """ "+sunglasses" -> "with sunglasses", "-hair=red" -> "hair not red"."""
    name, _, value = (plain(part) for part in concept[1:].partition("="))  # attribute names come from the file
    if value:
        return f"{name} {value}" if concept[0] == "+" else f"{name} not {value}"
    return f"with {name}" if concept[0] == "+" else f"without {name}"


def seed_list(seeds) -> str:
    """ "#3, #5, #8" (the first eight, then a count)."""
    shown = ", ".join(f"#{s}" for s in seeds[:8])
    return shown + (f" and {len(seeds) - 8} more" if len(seeds) > 8 else "")


def pin_button(seed: int, key: str) -> None:
    """A toggle that pins or unpins one seed the user is looking at (pins are what the user chose, one by one)."""
    pinned = seed in st.session_state["pins"]
    st.button(
        "pinned" if pinned else "pin",
        key=key,
        width="stretch",
        icon=":material/keep:",
        type="primary" if pinned else "secondary",
        on_click=state.toggle_pin,
        args=(seed,),
    )
