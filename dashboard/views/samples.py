"""Samples: a grid of generated images, each tile reproducible from its seed, pinnable for the other pages."""

from __future__ import annotations

import math
import random

import streamlit as st

from dashboard import services, state
from dashboard.state import GRID_SIZES
from dashboard.views.common import describe_attributes, model_or_stop, pin_button, tile_scale

# presenting: the screen's height above the grid (heading, caption) and below it (a margin), and the height of a
# tile's caption with the gap under its row
GRID_TOP_PIXELS, TILE_CAPTION_PIXELS = 160, 48
MAX_PIN_BUTTON_TILES = 64  # above this the grid is one image and pins are typed: 256 buttons make the page sluggish


def render() -> None:
    path = state.current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Samples")
    if not presenting:
        _controls(model)
    n, seed, psi = st.session_state["grid_size"], st.session_state["seed"], st.session_state["truncation"]
    seeds = tuple(range(seed, seed + n))
    result = services.samples(path, seeds, psi)
    # 8 across keeps a 16-64 grid on one screen (and suits a 16:9 projector); more tiles are one square picture
    columns = 8 if n <= MAX_PIN_BUTTON_TILES else int(math.ceil(math.sqrt(n)))
    norm = float(result.norms.mean())
    st.caption(
        f"Seeds {seed}–{seed + n - 1} · truncation ψ = {psi:.2f} · mean ‖z‖ = {norm:.2f} "
        f"(untruncated z concentrates at √d = {math.sqrt(model.latent_dim):.2f})"
    )
    tiles = n <= MAX_PIN_BUTTON_TILES
    if presenting:
        _fit_to_screen(math.ceil(n / columns), columns, TILE_CAPTION_PIXELS if tiles else 0)
    with st.container(key="sample_grid"):
        if tiles:
            _tile_grid(result, columns, model.image_size, presenting)
        else:
            st.image(
                services.grid_png(result.images, columns, scale=tile_scale(model.image_size, presenting) // 2 or 1),
                width="stretch",
                output_format="PNG",
            )
    if not tiles:
        st.text_input(
            "Pin seeds (comma separated)",
            key="_typed_pins",
            placeholder=f"e.g. {seed}, {seed + 5}",
            on_change=_pin_typed,
        )
        error = st.session_state.pop("_pin_error", "")
        if error:
            st.error(error, icon=":material/error:")
    if not presenting:
        _pins_and_downloads(path, seeds, psi, result, columns)


def _fit_to_screen(rows: int, columns: int, caption_pixels: int) -> None:
    """Presenting: the grid is no wider than lets all its rows fit on the screen under the heading (a 720-px
    projector's included); tiles are square, so the grid's width decides its height."""
    row = f"((100vh - {GRID_TOP_PIXELS}px) / {rows} - {caption_pixels}px)"
    st.html(f"<style>.st-key-sample_grid {{ max-width: calc({columns} * {row}); margin: 0 auto; }}</style>")


def _controls(model) -> None:
    left, middle, right = st.columns([2, 2, 3])
    with left:
        st.number_input(
            "First seed",
            min_value=0,
            max_value=2**31 - 1 - 256,
            step=1,
            key="seed",
            help="Tile i shows the latent of seed + i: every picture can be reproduced from its seed.",
        )
        buttons = st.columns(2)
        buttons[0].button(
            "Next page",
            key="next_page",
            icon=":material/arrow_forward:",
            width="stretch",
            on_click=lambda: st.session_state.update(seed=st.session_state["seed"] + st.session_state["grid_size"]),
        )
        buttons[1].button(
            "Random",
            key="random_seed",
            icon=":material/casino:",
            width="stretch",
            on_click=lambda: st.session_state.update(seed=random.randrange(0, 1_000_000)),
        )
    with middle:
        st.select_slider("Samples", options=GRID_SIZES, key="grid_size")
        st.slider(
            "Truncation ψ",
            0.0,
            1.5,
            step=0.05,
            key="truncation",
            help="Scales z toward the mean (0): smaller ψ trades variety for typical, cleaner images.",
        )
    with right:
        options = (
            ["seed"]
            + (["D score"] if model.discriminator is not None else [])
            + (["attributes"] if model.attributes else [])
        )
        if st.session_state["tile_info"] not in options:
            st.session_state["tile_info"] = "seed"
        st.radio(
            "Caption",
            options,
            key="tile_info",
            horizontal=True,
            help="D score: the discriminator's probability that the image is real.",
        )
        st.caption(
            "Click **pin** under a tile to pin it: pinned samples are the endpoints and exemplars on the "
            "Interpolate and Arithmetic pages."
        )


def _caption(result, index: int) -> str:
    seed = result.seeds[index]
    info = st.session_state["tile_info"]
    if info == "D score" and result.d_scores is not None:
        return f"#{seed} · D {result.d_scores[index]:.2f}"
    if info == "attributes" and result.attributes:
        return f"#{seed} · {describe_attributes(result.attributes, index, result.classes)}"
    return f"#{seed}"


def _tile_grid(result, columns: int, image_size: int, presenting: bool) -> None:
    scale = tile_scale(image_size, presenting)
    for row_start in range(0, len(result.seeds), columns):
        cells = st.columns(columns, gap="small")
        for offset, cell in enumerate(cells):
            index = row_start + offset
            if index >= len(result.seeds):
                break
            seed = result.seeds[index]
            with cell, st.container(key=f"tile_{index}"):
                st.image(
                    services.upscaled(result.images[index], scale),
                    caption=_caption(result, index),
                    width="stretch",
                    output_format="PNG",
                )  # JPEG smears pixel art
                if not presenting:
                    pin_button(seed, key=f"pin_{index}")


def _pin_typed() -> None:
    state.add_typed_seeds("pins", "_typed_pins", "_pin_error")


def _pins_and_downloads(path, seeds, psi, result, columns) -> None:
    pins = st.session_state["pins"]
    left, right = st.columns([3, 2])
    with left:
        if pins:
            st.write(f"**Pinned seeds:** {', '.join(map(str, pins))}")
            st.button("Clear pins", key="clear_pins", on_click=lambda: st.session_state.update(pins=[]))
        else:
            st.caption("No pinned samples yet.")
    with right:
        st.download_button(
            "Download grid (PNG)",
            services.grid_png(result.images, columns),
            file_name=f"samples_seed{seeds[0]}.png",
            mime="image/png",
            key="download_grid",
            icon=":material/download:",
        )
        st.download_button(
            "Download latents (.npy)",
            services.latents_npy(path, seeds, psi),
            file_name=f"latents_seed{seeds[0]}_n{len(seeds)}.npy",
            mime="application/octet-stream",
            key="download_latents",
            icon=":material/download:",
            help="Row i is the z of seed first + i, after truncation.",
        )
