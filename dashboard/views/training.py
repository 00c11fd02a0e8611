"""Training: follow a run live (curves of the minimax game, the latest sample grid, progress) or review a past one.

Runs train in their own process (ganlib.runs, reached through services); this page only reads their run
directories, so any number of viewers can follow one run, and closing the browser does not stop it.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import services
from dashboard.run_widgets import describe_progress, format_duration, open_button, stop_button
from dashboard.services import LOG_2, LOG_4
from dashboard.text import plain

LIVE_STATES = ("starting", "running")
STATE_ICONS = {"starting": "◌", "running": "●", "finished": "✓", "stopped": "■", "failed": "✗", "diverged": "↯"}
GRID_PIXELS = 512  # on-screen width of the sample grid; enlarged with nearest neighbour, never blurred
PRESENTATION_GRID_PIXELS = 768
EXPLANATION = f"""
**The game.** D and G play a minimax game over the value
V(D, G) = E<sub>x</sub>[log D(x)] + E<sub>z</sub>[log(1 − D(G(z)))].
**D maximises V** (it wants D(x) → 1 on real images and D(G(z)) → 0 on fakes); **G minimises it**.
loss_D is exactly −V; loss_G is −log D(G(z)) (non-saturating) or log(1 − D(G(z))) (minimax).
(With label smoothing D's loss uses the target 1 − s for real images and is no longer −V; V is still measured.
With instance noise every quantity is measured on the noised images D sees.)

**Equilibrium.** When G's images are indistinguishable from the data, the best D can do is guess:
D(x) = D(G(z)) = 0.5, V = −log 4 ≈ −{LOG_4:.3f}, loss_D = log 4, non-saturating loss_G = log 2 ≈ {LOG_2:.3f}
(the dashed lines). A GAN does not converge to a point: the curves oscillate around these values while the
samples improve. D(x) → 1 and D(G(z)) → 0 for long means D is winning and G gets little signal;
loss_D near 0 with a climbing loss_G is the classic sign. The sidebar's two remedies: label smoothing caps
D's confidence on real images, and instance noise blurs real and fake images into overlap early on.

**The JSD estimate.** For the *optimal* discriminator D\\*, V(D\\*, G) = −log 4 + 2·JSD(p<sub>data</sub> ‖ p<sub>G</sub>),
so (log 4 + V) / 2 estimates the Jensen–Shannon divergence (0 = identical, log 2 ≈ {LOG_2:.3f} = disjoint).
It is only valid when D is near optimal; D gets only k steps per G step, so in practice it is a noisy
lower bound. Values below 0 just mean D is currently worse than chance.
"""


# ---------------------------------------------------------------------------------------------- page
def render() -> None:
    presenting = st.session_state["presentation"]
    st.header("Training")
    choices = services.list_runs()
    if not choices:
        st.info(
            "No training runs yet. Start one from **Train a model** in the sidebar: it trains in its own "
            "process, and this page follows it live.",
            icon=":material/model_training:",
        )
        _explain(expanded=True)
        return
    names = [choice.name for choice in choices]
    if st.session_state.get("training_run") not in names:
        active = services.active_run()
        st.session_state["training_run"] = active.name if active else names[0]
    if not presenting:
        # the live run's numbers would go stale in a label that only updates on a full rerun
        labels = {
            c.name: f"{STATE_ICONS['running']} {c.name} · training now"
            if c.state in LIVE_STATES
            else f"{STATE_ICONS.get(c.state, '?')} {c.name} · {c.state} · {c.step:,}/{c.steps:,} steps"
            for c in choices
        }
        st.selectbox(
            "Run",
            names,
            key="training_run",
            format_func=labels.get,
            help="Runs in the runs folder, newest first. The one training now is marked ●.",
        )
    name = st.session_state["training_run"]
    if services.run_progress(name).state in LIVE_STATES:
        _follow_live(name)
    else:
        _show_run(name, live=False)
    if not presenting:
        _explain(expanded=False)


@st.fragment(run_every=2)
def _follow_live(name: str) -> None:
    """Only this fragment reruns every 2 s; when the run ends, one full rerun switches to the finished view."""
    _show_run(name, live=True)


def _show_run(name: str, live: bool) -> None:
    progress = services.run_progress(name)
    if live and progress.state not in LIVE_STATES:
        st.rerun()
    presenting = st.session_state["presentation"]
    _status(progress, presenting)
    if not len(progress.stats.get("step", [])) and not progress.samples:
        st.caption("The curves and sample grids appear a few seconds after training starts.")
        return
    figures = _figures(progress)
    grid, game = st.columns(2, gap="medium")  # the grid large beside the two curves of the game itself
    with grid:
        _sample_grid(progress, live, presenting)
    with game:
        for index in (0, 1):
            _chart(figures[index], index)
    for index, cell in zip((2, 3), st.columns(2, gap="medium")):
        with cell:
            _chart(figures[index], index)


def _status(progress: services.Progress, presenting: bool) -> None:
    if progress.warning:
        st.warning(plain(progress.warning), icon=":material/warning:")
    if progress.state in LIVE_STATES:
        st.progress(progress.fraction, text=describe_progress(progress))
        if progress.state == "running":
            cells = st.columns(4)
            images_per_second = progress.images_per_second
            cells[0].metric("Images / s", f"{images_per_second:,.0f}" if images_per_second else "–")
            cells[1].metric("Elapsed", format_duration(progress.elapsed))
            cells[2].metric("ETA", format_duration(progress.eta_seconds) if progress.eta_seconds else "–")
            epochs = progress.stats.get("epoch")
            cells[3].metric("Epochs", f"{epochs[-1]:.2f}" if epochs is not None and len(epochs) else "–")
        handle = services.active_run()
        if handle is not None and handle.run_dir.resolve() == progress.run_dir.resolve() and not presenting:
            stop_button(handle, key="training_stop")
        return
    if progress.state == "failed":
        st.error(f"**{plain(progress.name)}** failed: {plain(progress.failure)}", icon=":material/error:")
        if progress.log_tail and not presenting:
            with st.expander("End of train.log"):
                st.code(progress.log_tail, language=None)
        return
    if progress.state == "diverged":
        # the message names the step and the checkpoint kept, which the button below opens
        st.error(f"**{plain(progress.name)}** stopped: {plain(progress.failure)}", icon=":material/error:")
    elif progress.state == "finished":
        st.success(
            f"**{plain(progress.name)}** finished: {progress.steps:,} steps in {format_duration(progress.elapsed)}. "
            f"Its model is in the sidebar's checkpoint picker as “run: {progress.name}”.",
            icon=":material/check_circle:",
        )
    else:
        st.info(
            f"**{plain(progress.name)}** was stopped at step {progress.step:,} of {progress.steps:,}"
            + (f" ({progress.message})" if progress.message not in ("", "stopped") else "")
            + (". Its last checkpoint can still be explored." if progress.has_generator else "."),
            icon=":material/stop_circle:",
        )
    if progress.has_generator and not presenting:
        open_button(progress.name, "Open this model in the explorer", key="training_open", type="primary")


# ---------------------------------------------------------------------------------------------- charts
def _figure(
    progress: services.Progress, traces: list[tuple[str, str, str]], references: list[tuple[float, str]], y_range=None
) -> go.Figure:
    figure = go.Figure()
    steps = progress.stats.get("step", np.array([]))
    for column, label, colour in traces:
        # markers while there are few points: a lone first point drawn as a line would be invisible
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=progress.stats.get(column, np.array([])),
                name=label,
                mode="lines" if len(steps) > 30 else "lines+markers",
                line=dict(color=colour, width=2),
                marker=dict(size=5),
            )
        )
    for value, label in references:
        figure.add_hline(
            y=value,
            line_dash="dash",
            line_color="#888",
            annotation_text=label,
            annotation_position="right",
            annotation_font_color="#888",
        )  # beside, not on, the curves
    figure.update_layout(
        height=250,
        margin=dict(l=10, r=50, t=30, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        xaxis_title="generator step",
        hovermode="x unified",
    )
    values = [progress.stats.get(column, np.array([])) for column, _, _ in traces]
    figure.update_yaxes(range=y_range or robust_range(np.concatenate(values), [value for value, _ in references]))
    return figure


def robust_range(values: np.ndarray, must_show: list[float]) -> list[float] | None:
    """2nd-98th percentile plus the reference lines, padded: one exploding batch (V = -15 for a step) must not
    flatten the rest of the curve into a line. Outliers leave the frame; hovering still shows them."""
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = np.percentile(values, [2, 98]) if len(values) >= 20 else (values.min(), values.max())
    low, high = min(low, *must_show), max(high, *must_show)
    pad = 0.08 * (high - low or 1.0)
    return [float(low - pad), float(high + pad)]


def _figures(progress: services.Progress) -> list[tuple[str, go.Figure, str]]:
    """(title, figure, one-line reading) for the four curves."""
    minimax = progress.config.get("loss") == "minimax"
    smoothing = progress.config.get("label_smoothing") or 0.0
    loss_reading = (
        f"loss_D is D's BCE with real label {1 - smoothing:g} (label smoothing), so not −V."
        if smoothing
        else "loss_D = −V."
    )
    return [
        (
            "Losses",
            _figure(
                progress,
                [("loss_d", "loss_D", "#1f77b4"), ("loss_g", "loss_G", "#d62728")],
                [(LOG_4, "log 4"), (-LOG_2 if minimax else LOG_2, "−log 2" if minimax else "log 2")],
            ),
            loss_reading + " At equilibrium loss_D = log 4 and loss_G = " + ("−log 2." if minimax else "log 2."),
        ),
        (
            "Discriminator outputs",
            _figure(
                progress,
                [("d_real", "D(x)", "#2ca02c"), ("d_fake", "D(G(z))", "#ff7f0e")],
                [(0.5, "0.5")],
                y_range=[0, 1],
            ),
            "D's mean probability of “real” on real and on generated images; both meet at 0.5 at equilibrium.",
        ),
        (
            "Value of the game V(D, G)",
            _figure(progress, [("value", "V", "#9467bd")], [(-LOG_4, "−log 4")]),
            "D maximises V, G minimises it; V = −log 4 at equilibrium.",
        ),
        (
            "Jensen–Shannon divergence estimate",
            _figure(progress, [("js_estimate", "(log 4 + V) / 2", "#8c564b")], [(0.0, "0"), (LOG_2, "log 2")]),
            "Valid only when D is near optimal; otherwise a noisy lower bound.",
        ),
    ]


def _chart(entry: tuple[str, go.Figure, str], index: int) -> None:
    title, figure, caption = entry
    st.markdown(f"**{title}**")
    st.plotly_chart(figure, key=f"training_chart_{index}", width="stretch", config={"displayModeBar": False})
    st.caption(caption)


def _sample_grid(progress: services.Progress, live: bool, presenting: bool) -> None:
    if not progress.samples:
        st.caption(
            "Sample grids appear here about every 5% of the run: the same 64 latents each time, "
            "so you watch the same images take shape."
        )
        return
    index = -1
    if not live and len(progress.samples) > 1 and not presenting:
        steps = [int(path.stem.split("_")[-1]) for path in progress.samples]
        if st.session_state.get("training_sample_step") not in steps:
            st.session_state["training_sample_step"] = steps[-1]
        chosen = st.select_slider(
            "Samples at step",
            options=steps,
            key="training_sample_step",
            help="Scrub through the run: every grid shows the same fixed noise.",
        )
        index = steps.index(chosen)
    sample = services.run_sample(progress, index)
    if sample is None:
        return
    step, grid = sample
    target = PRESENTATION_GRID_PIXELS if presenting else GRID_PIXELS
    # enlarge to at least the target width; the browser then only ever shrinks it, which stays crisp enough
    st.image(
        services.upscaled(grid, max(1, math.ceil(target / grid.shape[1]))),
        output_format="PNG",
        caption=f"The same 64 latents at step {step:,}",
    )


def _explain(expanded: bool) -> None:
    with st.expander("What do these curves mean?", expanded=expanded, icon=":material/school:"):
        st.markdown(EXPLANATION, unsafe_allow_html=True)
