"""Interpolate: walk between two or more seeds or your images, straight (lerp) and along the sphere (slerp), side by
side, with the norm of z along both paths (White 2016, "Sampling Generative Networks")."""

from __future__ import annotations

import functools
import math

import plotly.graph_objects as go
import streamlit as st

from dashboard import services, state
from dashboard.state import MAX_FRAMES, MIN_FRAMES
from dashboard.views import projected_faces
from dashboard.views.common import model_or_stop, tile_scale

STRIP_COLUMNS = 8  # frames per row of a strip: 8 tiles in half the page stay large enough to see
STRIP_TILE_PIXELS = 96
NORM_CHART_HEIGHT = 300
# presenting, the compare row (two frames and the norm chart) sits under the strips inside a 720-px projector's height
PRESENTATION_NORM_CHART_HEIGHT = 280
METHODS = {"lerp": "Lerp: straight line", "slerp": "Slerp: great circle"}
COLORS = {"lerp": "#d62728", "slerp": "#1f77b4"}
FIRST_VISIT_ENDPOINTS = [0, 1]  # with no pins and no link, the walk starts here


def arrival(path: str) -> None:
    """What this page computes for a first visitor (no pins, no link): its two walks, for services.warm_up."""
    for method in METHODS:
        services.interpolation(path, tuple(FIRST_VISIT_ENDPOINTS), state.URL_STATE["frames"].default, method)


def render() -> None:
    path = state.current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Interpolate")
    pinned = projected_faces.codes(path)
    _default_endpoints(pinned)
    if st.session_state.get("_endpoints_from_pins") == st.session_state["endpoints"]:
        st.caption(
            f"Endpoints from your first two pins: #{st.session_state['endpoints'][0]} → "
            f"#{st.session_state['endpoints'][1]}."
        )
    if not presenting:
        _controls(pinned)
    endpoints = tuple(st.session_state["endpoints"])
    frames = st.session_state["frames"]
    if len(endpoints) < 2:
        st.warning("Pick at least two endpoints: pin samples on the Samples page, or type seeds above.")
        return
    seeds = projected_faces.points(endpoints, pinned)  # your images' tokens become their latent codes
    walks = {method: services.interpolation(path, seeds, frames, method) for method in METHODS}
    walk = (
        "Seeds " + " → ".join(map(str, endpoints))
        if all(isinstance(item, int) for item in endpoints)
        else " → ".join(map(projected_faces.label, endpoints))
    )
    st.caption(f"{walk} · {frames} frames · both strips start and end on the same images")
    _strips(path, seeds, endpoints, frames, walks, model.image_size, presenting)
    _compare(walks, frames, len(seeds), model.image_size, model.latent_dim, presenting)
    if presenting:
        _animations(path, seeds, frames, model.image_size)  # under the key row, for whoever scrolls to them
    else:
        _reproduce(path, endpoints, seeds, frames)


def _reproduce(path: str, endpoints: tuple, points: tuple, frames: int) -> None:
    if all(isinstance(point, int) for point in points):
        st.caption("Reproduce from the command line:")
        st.code(
            f"python -m ganlib interpolate {services.cli_path(path)} --seeds {' '.join(map(str, points))} "
            f"--frames {frames} --method slerp --out walk.gif",
            language="bash",
            wrap_lines=True,
        )
        return
    # the CLI's interpolate takes seeds; your images are latents, written out as their codes
    lines, terms = [], []
    for item, point in zip(endpoints, points):
        if isinstance(point, str):
            name = f"your_image_{state.projected_index(item) + 1}"
            lines.append(f"{name} = decode_latent({point!r}, explorer.latent_dim)\n")
            terms.append(name)
        else:
            terms.append(f"explorer.latents([{point}])[0]")
    st.caption("Reproduce in Python:")
    st.code(
        "import torch\nfrom ganlib.explorer import Explorer\nfrom ganlib.latent_code import decode_latent\n\n"
        f"explorer = Explorer.from_checkpoint({services.cli_path(path)!r})\n"
        + "".join(dict.fromkeys(lines))
        + f"z = torch.stack([{', '.join(terms)}])\n"
        f"frames, norms = explorer.interpolate(z, {frames}, 'slerp')  # uint8 [{frames}, H, W, 3], ||z|| per frame",
        language="python",
        wrap_lines=True,
    )


def _default_endpoints(pinned: tuple[str, ...]) -> None:
    """Never an empty page: with no endpoints chosen, start from the first two pins, or seeds 0 and 1."""
    # a multiselect holds each seed once; a hand-edited URL may hold seeds no generator accepts, or name an image
    # that is no longer pinned
    endpoints = [s for s in dict.fromkeys(st.session_state["endpoints"]) if projected_faces.usable(s, pinned)]
    if not endpoints:
        pins = st.session_state["pins"]
        endpoints = list(pins[:2]) if len(pins) >= 2 else list(FIRST_VISIT_ENDPOINTS)
        if len(pins) >= 2:  # said on the page while they are unchanged
            st.session_state["_endpoints_from_pins"] = list(endpoints)
    st.session_state["endpoints"] = endpoints
    # a hand-edited URL (frames=1000) is clamped instead of breaking the slider
    st.session_state["frames"] = min(MAX_FRAMES, max(MIN_FRAMES, int(st.session_state["frames"])))


def _controls(pinned: tuple[str, ...]) -> None:
    pins = st.session_state["pins"]
    left, middle, right = st.columns([3, 2, 2])
    with left:
        options = list(dict.fromkeys(projected_faces.tokens(pinned) + list(pins) + list(st.session_state["endpoints"])))
        st.multiselect(
            "Endpoints (in order)",
            options,
            key="endpoints",
            format_func=projected_faces.label,
            help="Pinned samples and your images (the Your image page) are offered here; the walk passes through "
            "every endpoint in order.",
        )
        if not pins and not pinned:
            st.caption("No pinned samples: pin faces on the Samples page, or type seeds.")
    with middle:
        st.text_input(
            "Add seeds (comma separated)", key="_typed_endpoints", placeholder="e.g. 3, 17", on_change=_add_typed
        )
        error = st.session_state.pop("_endpoint_error", None)
        if error:
            st.error(error)
    with right:
        st.slider("Frames", MIN_FRAMES, MAX_FRAMES, key="frames", help="Frames in the whole walk, endpoints included.")


def _add_typed() -> None:
    state.add_typed_seeds("endpoints", "_typed_endpoints", "_endpoint_error")


def _strips(path, seeds, endpoints, frames, walks, image_size: int, presenting: bool) -> None:
    columns = min(frames, STRIP_COLUMNS)
    scale = max(1, (STRIP_TILE_PIXELS * (2 if presenting else 1)) // image_size)
    for method, column in zip(METHODS, st.columns(2, gap="large")):
        images, norms = walks[method]
        with column, st.container(key=f"strip_{method}"):
            st.subheader(METHODS[method])
            st.image(
                services.grid_png(images, columns, scale),
                width="stretch",
                caption=f"{method}: frames 1–{frames}, row by row · lowest ‖z‖ = {norms.min():.2f}",
            )
            if not presenting:  # presenting, the animations come after the norm chart (_animations)
                animation, buttons = st.columns([3, 2])
                animation.image(
                    services.interpolation_gif(path, seeds, frames, method, tile_scale(image_size)),
                    caption=f"{method}, playing",
                    width="stretch",
                )
                with buttons:
                    name = f"walk_{method}_{'-'.join(map(str, endpoints))}_{frames}"  # img1-42, not the codes
                    # the files are made when a button is pressed, not on every visit (0.1-0.3 s each here)
                    st.download_button(
                        "GIF",
                        functools.partial(services.interpolation_gif, path, seeds, frames, method),
                        file_name=f"{name}.gif",
                        mime="image/gif",
                        key=f"download_gif_{method}",
                        icon=":material/download:",
                        width="stretch",
                    )
                    st.download_button(
                        "PNG strip",
                        functools.partial(services.strip_png, path, seeds, frames, method, frames, 2),
                        file_name=f"{name}.png",
                        mime="image/png",
                        key=f"download_strip_{method}",
                        icon=":material/download:",
                        width="stretch",
                    )


def _animations(path, seeds, frames: int, image_size: int) -> None:
    """Presenting: both walks playing under the compare row, each below its strip."""
    scale = tile_scale(image_size, presenting=True)
    for method, column in zip(METHODS, st.columns(4, gap="large")[::2]):
        column.image(
            services.interpolation_gif(path, seeds, frames, method, scale),
            caption=f"{method}, playing",
            width="stretch",
        )


def _compare(walks, frames: int, endpoints: int, image_size: int, latent_dim: int, presenting: bool) -> None:
    """One frame of each walk side by side next to the norm chart: at the midpoint, lerp's dip is visible.
    Presenting, the frame slider comes after them, so that the row fits under the strips on a projector."""
    # re-assigned every run: a slider whose range changes (more frames) would otherwise restart at frame 1
    chosen = st.session_state.get("_compare_frame", 0)
    st.session_state["_compare_frame"] = chosen if 1 <= chosen <= frames else (frames + 1) // 2
    if not presenting:  # presenting, it comes after the row
        _frame_slider(frames)
    index = st.session_state["_compare_frame"] - 1
    scale = tile_scale(image_size, presenting)
    lerp_column, slerp_column, chart_column = st.columns([1, 1, 3], vertical_alignment="center")
    for method, column in (("lerp", lerp_column), ("slerp", slerp_column)):
        images, norms = walks[method]
        column.image(
            services.upscaled(images[index], scale),
            width="stretch",
            output_format="PNG",
            caption=f"{method}, frame {index + 1}: ‖z‖ = {norms[index]:.1f}",
        )
    with chart_column:
        _norm_chart(walks, frames, endpoints, latent_dim, index, presenting)
    if presenting:
        _frame_slider(frames)
    radius, lowest = math.sqrt(latent_dim), float(min(walks["lerp"][1]))
    st.caption(
        f"Why slerp exists (White 2016): in {latent_dim} dimensions almost every z ~ N(0, I) has ‖z‖ close to "
        f"√d = {radius:.1f}, so G was trained on a thin shell. A straight line between two samples cuts inside it: "
        f"here lerp dips to ‖z‖ = {lowest:.1f} ({lowest / radius:.0%} of √d; about 71% at the midpoint of two "
        f"independent samples), latents G rarely saw, which often look washed out or generic. Slerp follows the "
        f"great circle and keeps the norm."
    )


def _frame_slider(frames: int) -> None:
    st.slider(
        "Compare frame",
        1,
        frames,
        key="_compare_frame",
        help="Both walks at the same frame; the chart marks where it is.",
    )


def _norm_chart(walks, frames: int, endpoints: int, latent_dim: int, marked: int, presenting: bool) -> None:
    radius = math.sqrt(latent_dim)
    positions = [i * (endpoints - 1) / (frames - 1) for i in range(frames)]  # 0 .. endpoints-1: integers are seeds
    figure = go.Figure()
    figure.add_vline(x=positions[marked], line_color="#bbbbbb", line_width=2)
    for method, (_, norms) in walks.items():
        figure.add_trace(
            go.Scatter(
                x=positions, y=norms, mode="lines+markers", name=method, line={"color": COLORS[method], "width": 3}
            )
        )
    figure.add_hline(
        y=radius,
        line_dash="dash",
        line_color="gray",
        annotation_text=f"√d = {radius:.1f}",
        annotation_position="top left",
    )
    figure.update_layout(
        height=PRESENTATION_NORM_CHART_HEIGHT if presenting else NORM_CHART_HEIGHT,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="‖z‖ along the walk",
        xaxis_title="position (integers are the endpoints)",
        yaxis_title="norm",
        yaxis_range=[0, max(radius * 1.25, float(max(walks["slerp"][1])) * 1.1)],
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
    )
    st.plotly_chart(figure, key="norm_chart", width="stretch")
