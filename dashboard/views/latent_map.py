"""Latent map: up to 5,000 seeds projected to 2-D (PCA or t-SNE) from what the networks compute, coloured by
D score, attributes, clusters or ||z||; select points to see their images and pin the ones you want, or show thumbnails
(atlas). A PCA map of up to ARRIVAL_POINTS draws on arrival, when this model draws them within the request budget;
t-SNE and larger maps wait for Compute, even when a link asks for them (a link restores their parameters, so Compute
draws the shared map). Your images (projected latents) are marked where they land on a PCA map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image
from plotly.colors import qualitative

from dashboard import services, state
from dashboard.state import MAX_POINTS, MIN_POINTS
from dashboard.text import plain
from dashboard.views import projected_faces
from dashboard.views.common import describe_attributes, model_or_stop, pin_button, tile_scale

METHODS = {"PCA": "pca", "t-SNE": "tsne"}
SPACE_LABELS = {
    "discriminator": "Discriminator features",
    "generator": "Generator, first block",
    "attributes": "Classifier attributes",
    "pixels": "Pixels (16 × 16)",
    "z": "Raw latent z",
}
SPACE_HELP = (
    "Discriminator: D's penultimate features of each image. Generator: G's 4×4 activations after its "
    "first block, pooled (where GANSpace looks). Attributes: the classifier's probabilities. Pixels: "
    "the images shrunk to 16×16. Raw z: the noise itself, a blob (see above)."
)
EXPLANATION = (
    "Raw latents are independent Gaussian noise: every direction of z has the same spread, so PCA or t-SNE of z "
    "draws a round, shapeless blob, and neighbours in z need not look alike. A useful map projects what the networks "
    "compute from z: the discriminator's features (the DCGAN paper reads learned features off D), the generator's "
    "early activations (where GANSpace finds its directions), the classifier's attribute scores, or the pixels; "
    "then look-alikes land together, as embeddings do in TensorBoard's projector."
)
MAX_SELECTED_TILES = 48  # images shown under the map; a 2,000-point lasso shows the first ones
ARRIVAL_POINTS = 500  # a PCA map this size draws without Compute: about 2 s on toonfaces64 (1,000 points: 4.6 s)
AHEAD_POINTS = 2000  # a warm server has this many points' features, and their t-SNE with the form's defaults, ready
ATLAS_CELLS = 10  # the atlas grid: up to 10 x 10 thumbnails
ATLAS_THUMBNAIL_PIXELS = 64  # thumbnails are enlarged (nearest neighbour) so the browser does not blur them
MAP_HEIGHT, PRESENTATION_MAP_HEIGHT = 620, 600  # presenting, the map is all that is above the fold of a 720-px screen
COLOUR_LABELS = {"D score": "D score D(G(z))", "norm": "‖z‖", "cluster": "k-means cluster"}


def render() -> None:
    path = state.current_checkpoint()
    model = model_or_stop(path)
    presenting = st.session_state["presentation"]
    st.header("Latent map")
    spaces = services.map_spaces(path)
    _valid_choices(spaces)
    if not presenting:
        st.caption(EXPLANATION)
        _parameter_form(path, spaces)
    if not (st.session_state.get("_map_computed") == path or _draws_on_arrival(path)):
        _waiting(path, presenting)
        return
    latent = _compute(path, presenting)
    if latent is None:
        return
    # presenting, the map comes first and everything written before it (its colour controls, notes) goes under it:
    # map and heading fill a 720-px projector
    map_slot = st.container() if presenting else st
    colour, clusters = _colour_controls(path, latent)
    values, categories, title = _colour_values(latent, colour, clusters)
    figure = _figure(latent, values, categories, title, presenting)
    if st.session_state["map_atlas"]:
        _add_atlas(figure, path, latent)
    _mark_your_images(figure, path, latent)
    event = map_slot.plotly_chart(
        figure,
        key="map_chart",
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
        width="stretch",
        config={"displaylogo": False, "scrollZoom": True},
    )
    _selection(path, _selected_seeds(event, latent.seeds), model.image_size, presenting)
    if not presenting:
        method = METHODS[st.session_state["map_method"]]
        st.download_button(
            "Download coordinates (CSV)",
            services.map_csv(latent, clusters),
            key="map_csv",
            file_name=f"latent_map_{method}_{st.session_state['map_space']}_seed"
            f"{int(latent.seeds[0])}_n{len(latent.seeds)}.csv",
            mime="text/csv",
            icon=":material/download:",
            help="seed, x, y and every colour value (D score, ‖z‖, cluster, attribute probabilities).",
        )


def arrival(path: str) -> None:
    """The map this page draws for a first visitor (the URL_STATE defaults), for services.warm_up; nothing when
    this model would not draw it on arrival either."""
    default = {key: value.default for key, value in state.URL_STATE.items()}
    if services.images_seconds(path, default["map_points"]) > services.REQUEST_SECONDS:
        return
    services.latent_map(
        path,
        default["map_first"],
        default["map_points"],
        _default_space(services.map_spaces(path)),
        METHODS[default["map_method"]],
        default["perplexity"],
        default["map_iterations"],
        default["map_seed"],
    )


def ahead_points(path: str) -> None:
    """The PCA map of AHEAD_POINTS seeds (the images and features that a larger map or a t-SNE needs first), for
    services.warm_up once the server is idle; nothing for a model that could not draw it within a request."""
    _ahead(path, "pca")


def ahead_tsne(path: str) -> None:
    """Then the t-SNE of those seeds with the form's other defaults, so that a warm server draws it at once."""
    _ahead(path, "tsne")


def _ahead(path: str, method: str) -> None:
    if services.images_seconds(path, AHEAD_POINTS) > services.REQUEST_SECONDS:  # a large model's idle time goes
        return  # to what its pages draw on arrival; t-SNE's own time does not depend on the model
    default = {key: value.default for key, value in state.URL_STATE.items()}
    services.latent_map(
        path,
        default["map_first"],
        AHEAD_POINTS,
        _default_space(services.map_spaces(path)),
        method,
        default["perplexity"],
        default["map_iterations"],
        default["map_seed"],
    )


def _default_space(spaces: tuple[str, ...]) -> str:
    return "discriminator" if "discriminator" in spaces else "generator"


def _draws_on_arrival(path: str) -> bool:
    """A small PCA map is cheap: it is drawn as soon as the page opens, so the page is never empty. A t-SNE that a
    link shows draws on arrival when its images and its own estimated time fit the request budget together.
    Anything more, or a model too slow to draw it within the budget, waits for Compute, whoever asks (a link
    included)."""
    count = int(st.session_state["map_points"])
    seconds = services.images_seconds(path, count)
    if st.session_state["map_method"] == "PCA":
        return count <= ARRIVAL_POINTS and seconds <= services.REQUEST_SECONDS
    if not st.session_state["map_shown"]:  # t-SNE is drawn when asked for: by Compute, or by a link that shows it
        return False
    tsne = services.tsne_seconds(count, int(st.session_state["map_iterations"]), int(st.session_state["perplexity"]))
    return seconds + tsne <= services.REQUEST_SECONDS  # a small t-SNE, such as a rehearsed slide's, draws at once


def _pressed(path: str) -> None:
    """Compute, in this session and for this model: from now on the page draws what the parameters ask."""
    st.session_state.update(map_shown=True, _map_computed=path)


def _waiting(path: str, presenting: bool) -> None:
    """What the page shows instead of a map too costly to draw unasked: a link's map names what Compute will do."""
    method, count = st.session_state["map_method"], int(st.session_state["map_points"])
    perplexity, iterations = int(st.session_state["perplexity"]), int(st.session_state["map_iterations"])
    try:  # a refused parameter is said at once: checking costs nothing
        services.check_map(count, METHODS[method], perplexity, iterations)
    except ValueError as error:
        st.error(f"Cannot compute this map: {plain(error)}", icon=":material/error:")
        return
    if st.session_state["map_shown"]:  # a link (or Compute on another model) asked: the form holds its parameters
        what = f"{method} of {count:,} points" + (f", {iterations:,} iterations" if method == "t-SNE" else "")
        seconds = services.images_seconds(path, count)
        text = (
            f"The map asked for ({what}) is more than a page computes unasked: it waits for **Compute**. "
            f"Its images take about {seconds:,.0f} s on this model" + (", then t-SNE." if method == "t-SNE" else ".")
        )
    else:
        text = (
            f"PCA of more than {ARRIVAL_POINTS:,} points, and a t-SNE estimated at more than "
            f"{services.REQUEST_SECONDS:.0f} s with its images, wait for **Compute**. The t-SNE of {AHEAD_POINTS:,} "
            "points with the form's other settings is computed ahead while the server is idle; other settings cost "
            "the t-SNE alone (about 5 s for 2,000 points), since maps of the same seeds share their images. Every "
            "result is kept for reruns."
        )
    st.info(text, icon=":material/scatter_plot:")
    if presenting:  # the form is hidden
        st.button("Compute", key="map_compute_now", type="primary", on_click=_pressed, args=(path,))


def _valid_choices(spaces: tuple[str, ...]) -> None:
    """A stale bookmark or another checkpoint may name a choice this one lacks: fall back before the widgets draw."""
    if st.session_state["map_space"] not in spaces:
        st.session_state["map_space"] = _default_space(spaces)
    if st.session_state["map_method"] not in METHODS:
        st.session_state["map_method"] = "PCA"
    st.session_state["map_points"] = min(MAX_POINTS, max(MIN_POINTS, int(st.session_state["map_points"])))
    st.session_state["perplexity"] = min(100, max(2, int(st.session_state["perplexity"])))
    st.session_state["map_iterations"] = min(2000, max(250, int(st.session_state["map_iterations"])))
    st.session_state["map_clusters"] = min(20, max(2, int(st.session_state["map_clusters"])))


def _parameter_form(path: str, spaces: tuple[str, ...]) -> None:
    """Parameters are set first and applied together by Compute (nothing recomputes while they are edited)."""
    with st.form("map_form", border=True):
        left, middle, right = st.columns(3)
        with left:
            st.number_input(
                "Points",
                MIN_POINTS,
                MAX_POINTS,
                step=250,
                key="map_points",
                help="The map shows seeds first … first + points − 1.",
            )
            st.number_input("First seed", 0, 2**31 - 1 - MAX_POINTS, step=1, key="map_first")
        with middle:
            st.selectbox("Feature space", spaces, format_func=SPACE_LABELS.get, key="map_space", help=SPACE_HELP)
            st.radio(
                "Projection",
                list(METHODS),
                key="map_method",
                horizontal=True,
                help="PCA: the two directions of largest variance (fast, global). t-SNE: keeps each point's "
                "neighbours close (clusters), distances between clusters mean little.",
            )
        with right:
            st.slider(
                "Perplexity (t-SNE)",
                2,
                100,
                key="perplexity",
                help="About how many neighbours each point keeps close; 5–50 is usual, below the point count.",
            )
            st.slider("Iterations (t-SNE)", 250, 2000, step=50, key="map_iterations")
            st.number_input("Random seed (t-SNE, k-means)", 0, 2**31 - 1, step=1, key="map_seed")
        st.form_submit_button(
            "Compute",
            key="map_compute",
            type="primary",
            icon=":material/play_arrow:",
            on_click=_pressed,
            args=(path,),
        )


def _compute(path: str, presenting: bool):
    """The map for the submitted parameters, with a progress indicator; None (and a message) if they are refused."""
    method, space = st.session_state["map_method"], st.session_state["map_space"]
    count, first = int(st.session_state["map_points"]), int(st.session_state["map_first"])
    holder = st.empty()
    status = holder.status(f"Computing a {method} map of {count:,} points…", expanded=True)
    with status:
        bar = st.progress(0.0, text="Starting")
    try:
        latent = services.latent_map(
            path,
            first,
            count,
            space,
            METHODS[method],
            int(st.session_state["perplexity"]),
            int(st.session_state["map_iterations"]),
            int(st.session_state["map_seed"]),
            progress=lambda fraction, message: bar.progress(fraction, text=message),
        )
    except ValueError as error:
        holder.empty()
        st.error(f"Cannot compute this map: {plain(error)}", icon=":material/error:")
        return None
    bar.empty()
    if presenting:
        holder.empty()
    else:
        status.update(
            label=f"{count:,} points (seeds {first}–{first + count - 1}) · {method} of "
            f"{SPACE_LABELS[space].lower()} · computed in {latent.seconds:.1f} s",
            state="complete",
            expanded=False,
        )
    return latent


def _colour_controls(path: str, latent) -> tuple[str, np.ndarray | None]:
    options = (["D score"] if latent.d_scores is not None else []) + ["norm", "cluster"]
    options += [f"attribute:{name}" for name in latent.attributes or {}]
    if st.session_state["map_color"] not in options:
        st.session_state["map_color"] = options[0]
    colour_column, clusters_column, atlas_column = st.columns([3, 2, 2], vertical_alignment="bottom")
    colour_column.selectbox(
        "Colour by",
        options,
        key="map_color",
        format_func=lambda o: COLOUR_LABELS.get(o, o.removeprefix("attribute:") + " (classifier)"),
    )
    colour = st.session_state["map_color"]
    clusters = None
    if colour == "cluster":
        clusters_column.number_input(
            "Clusters (k)",
            2,
            20,
            step=1,
            key="map_clusters",
            help="k-means on the standardised features (PCA-50), not on the 2-D map.",
        )
        clusters = services.map_clusters(
            path,
            int(latent.seeds[0]),
            len(latent.seeds),
            st.session_state["map_space"],
            int(st.session_state["map_clusters"]),
            int(st.session_state["map_seed"]),
        )
    atlas_column.toggle(
        "Atlas (thumbnails)", key="map_atlas", help="One image per cell of a 10×10 grid over the map: what lives where."
    )
    return colour, clusters


def _colour_values(latent, colour: str, clusters) -> tuple[np.ndarray, list[str] | None, str]:
    """(values, category names or None for a continuous scale, legend title)."""
    if colour == "D score":
        return latent.d_scores, None, "D(G(z))"
    if colour == "cluster":
        return clusters, [f"cluster {i}" for i in range(int(clusters.max()) + 1)], "cluster"
    if colour.startswith("attribute:"):
        name = colour.removeprefix("attribute:")
        probabilities = latent.attributes[name]
        if probabilities.shape[1] == 2:
            return probabilities[:, 1], None, f"P({name})"
        return probabilities.argmax(axis=1), list(latent.classes.get(name, range(probabilities.shape[1]))), name
    return latent.norms, None, "‖z‖"


def _hover_text(latent) -> list[str]:
    lines = [f"seed {int(seed)}" for seed in latent.seeds]
    if latent.d_scores is not None:
        lines = [f"{line}<br>D(G(z)) {score:.2f}" for line, score in zip(lines, latent.d_scores)]
    lines = [f"{line}<br>‖z‖ {norm:.2f}" for line, norm in zip(lines, latent.norms)]
    if latent.attributes:
        lines = [
            f"{line}<br>{describe_attributes(latent.attributes, i, latent.classes)}" for i, line in enumerate(lines)
        ]
    return lines


def _figure(latent, values, categories, title: str, presenting: bool) -> go.Figure:
    x, y = latent.coordinates[:, 0], latent.coordinates[:, 1]
    hover = np.array(_hover_text(latent), dtype=object)
    count = len(latent.seeds)
    size = 8 if count <= 500 else 6 if count <= 2000 else 4
    common = dict(mode="markers", hovertemplate="%{hovertext}<extra></extra>")
    figure = go.Figure()
    if categories is None:
        continuous = dict(
            colorscale="Viridis", colorbar=dict(title=title, thickness=14, tickformat=".3~g"), showscale=True
        )
        if title.startswith("P("):  # probabilities on a fixed scale
            continuous.update(cmin=0.0, cmax=1.0)
        else:  # D scores are often skewed (a few outliers): spread the colours over the 2nd-98th percentile
            low, high = np.percentile(values, [2, 98])
            continuous.update(cmin=float(low), cmax=float(high) if high > low else float(low) + 1e-9)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                customdata=latent.seeds,
                hovertext=hover,
                showlegend=False,
                marker=dict(size=size, color=values, opacity=0.85, **continuous),
                **common,
            )
        )
    else:
        palette = qualitative.D3 + qualitative.Set2
        for index, name in enumerate(categories):
            mask = values == index
            if mask.any():  # one trace per category: its legend entry toggles it
                figure.add_trace(
                    go.Scatter(
                        x=x[mask],
                        y=y[mask],
                        customdata=latent.seeds[mask],
                        hovertext=hover[mask],
                        name=str(name),
                        marker=dict(size=size, opacity=0.85, color=palette[index % len(palette)]),
                        **common,
                    )
                )
    axis = dict(showticklabels=False, zeroline=False, showgrid=False, title=None)
    figure.update_layout(
        dragmode="lasso",
        height=PRESENTATION_MAP_HEIGHT if presenting else MAP_HEIGHT,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=axis,
        yaxis=axis,
        legend=dict(title=title, itemsizing="constant"),
        hoverlabel=dict(align="left"),
    )
    return figure


def _mark_your_images(figure: go.Figure, path: str, latent) -> None:
    """Stars where your images land: their features in the map's space, through the map's own PCA. t-SNE cannot
    place a point it was not fitted on, so there the page says so instead of drawing a guess."""
    pinned = projected_faces.codes(path)
    if not pinned:
        return
    if st.session_state["map_method"] != "PCA":
        st.caption(
            "Your images are not on this map: t-SNE places only the points it was fitted on and cannot add one "
            "afterwards. Choose PCA to see where they land."
        )
        return
    places = services.map_places(
        path,
        int(latent.seeds[0]),
        len(latent.seeds),
        st.session_state["map_space"],
        int(st.session_state["map_seed"]),
        pinned,
    )
    names = [projected_faces.label(token) for token in projected_faces.tokens(pinned)]
    figure.add_trace(
        go.Scatter(
            x=places[:, 0],
            y=places[:, 1],
            mode="markers",
            name="your images",
            hovertext=[f"{name}: projected, placed with the map's PCA" for name in names],
            hovertemplate="%{hovertext}<extra></extra>",
            marker=dict(symbol="star", size=20, color="#ff2d55", line=dict(width=1.5, color="black")),
            showlegend=False,
        )
    )
    for name, (x, y) in zip(names, places):  # labels on white: text alone drowns among the points
        figure.add_annotation(
            x=float(x), y=float(y), text=name, ay=-28, bgcolor="white", bordercolor="#ff2d55", font=dict(size=12)
        )
    st.caption(
        f"★ {', '.join(names)}: your images (the Your image page), placed on this map by its PCA. Points near a "
        "star look alike in this feature space."
    )


def _add_atlas(figure: go.Figure, path: str, latent) -> None:
    images, centres, (width, height) = services.atlas_thumbnails(path, latent, ATLAS_CELLS)
    factor = max(1, ATLAS_THUMBNAIL_PIXELS // images.shape[1]) if len(images) else 1
    figure.update_layout(
        images=[
            dict(
                source=Image.fromarray(services.upscaled(image, factor)),
                xref="x",
                yref="y",
                x=float(cx),
                y=float(cy),
                sizex=width * 0.96,
                sizey=height * 0.96,
                xanchor="center",
                yanchor="middle",
                sizing="contain",
                layer="above",
            )
            for image, (cx, cy) in zip(images, centres)
        ]
    )
    figure.update_traces(marker_opacity=0.35)


def _seed_of(point) -> int | None:
    """A selected point's seed from its customdata (numbers come back as {"0": v}, lists, or plain values)."""
    data = point.get("customdata") if isinstance(point, dict) else None
    if isinstance(data, dict):
        data = data.get("0", next(iter(data.values()), None))
    elif isinstance(data, (list, tuple)):
        data = data[0] if data else None
    try:
        return int(data)
    except (TypeError, ValueError):
        return None


def _selected_seeds(event, seeds: np.ndarray) -> list[int]:
    """Seeds of the selected points that belong to the current map, in selection order, without repeats."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError, IndexError):
        return []
    known = set(seeds.tolist())
    found = (_seed_of(point) for point in points or [])
    return list(dict.fromkeys(seed for seed in found if seed in known))


def _selection(path: str, selected: list[int], image_size: int, presenting: bool) -> None:
    if not selected:
        st.caption(
            "Click a point, or drag a lasso around a region (box select is in the chart's toolbar), to see "
            "its images here. Double-click the map to clear the selection."
        )
        return
    shown = selected[:MAX_SELECTED_TILES]
    title = f"{len(selected)} selected" + (f" (first {len(shown)} shown)" if len(shown) < len(selected) else "")
    st.subheader(title)
    if not presenting:
        st.caption(
            "**Pin** the faces you want: pinned seeds are offered as endpoints and exemplars on the Interpolate "
            "and Arithmetic pages."
        )
    images = services.samples(path, tuple(shown)).images
    scale = tile_scale(image_size, presenting)  # enlarged on the server (nearest neighbour): the browser would blur
    columns = 6 if presenting else 8
    for row_start in range(0, len(shown), columns):
        cells = st.columns(columns, gap="small")
        for cell, seed, image in zip(
            cells, shown[row_start : row_start + columns], images[row_start : row_start + columns]
        ):
            with cell:
                st.image(services.upscaled(image, scale), caption=f"#{seed}", width="stretch")
                if not presenting:  # one seed at a time, each one seen: pins are what the user chose
                    pin_button(seed, key=f"map_pin_{seed}")
