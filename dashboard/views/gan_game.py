"""How a GAN learns: a 1-D GAN trained live, with p_data, p_g, D, D* and the value function as numbers.

The game itself is ganlib.toy.ToyGAN (reached through services; no torch here). The live area is a fragment that
reruns only itself while playing, doing several training steps per tick, so the controls above it stay still.

Playing must not grey the page. Streamlit marks a fragment's elements stale from the start of each of its runs until
the browser has each one again, and fades stale elements after 0.5 s. Ticks used to train for up to 0.5 s before
drawing, so every element of the live area was stale for longer than that on every tick. Now a tick draws first (the
server has sent the whole frame about 0.1 s into the tick) and trains after, for less than the interval. On a CPU so
busy that the browser itself falls behind (other processes, a training run), LIVE_CSS keeps the frame that is being
replaced at full opacity while playing: during an animation it is still the right picture.

Playing must not blank the charts either. Streamlit derives a plotly chart's element id from its figure, so a chart
whose figure changes every tick is unmounted and drawn anew every tick, and a busy browser painted frames with an
empty box in between. While playing, the charts are therefore drawn as inline SVG (dashboard.svg_chart), which is
swapped in place; paused, the same figures are drawn by plotly, with hover and zoom.
"""

from __future__ import annotations

import math
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import services, svg_chart
from dashboard.services import LOG_2, LOG_4, LOSS_LABELS, LOSSES, PRESETS
from dashboard.state import URL_STATE

# The one deliberate exception to "no tensors in session state": the ToyGAN (networks, optimisers, history) is the
# live game of this browser session, not a value a bookmark could hold; every step mutates it in place, so it
# cannot live in a cache shared by all users either. The settings that rebuild it are plain values in URL_STATE.
GAME_KEY = "toy_game"
PLAYING_KEY = "toy_playing"
TICK_SECONDS = 0.35  # the live area's refresh while playing
MAX_TICK_SECONDS = 1.5  # the most training time one tick catches up on
TRAIN_BUDGET_SECONDS = 0.2  # the most time one tick trains for: drawing plus training stay under TICK_SECONDS
SPEEDS = {"slow": 5, "normal": 30, "fast": 90}  # training steps per second while playing
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)
MAX_K = 10
COLLAPSE_AFTER_STEPS = 200  # a fresh G sits near 0 and may touch one mode by chance: that is no collapse yet
MAX_CHART_POINTS = 1500  # longer histories are thinned before plotting: the browser redraws them every tick

# While playing, a frame waiting for its replacement is still the right picture: keep it at full opacity.
LIVE_CSS = """
<style>
  .st-key-toy_live [data-stale="true"] { opacity: 1 !important; transition: none !important; }
</style>
"""

BLUE, ORANGE, GREEN, PURPLE, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#7f7f7f"
FONT = dict(size=15)  # legible on a projector
# Presenting on a 720-px projector, the heading, the buttons, the numbers and the main chart fill the screen: the
# explanation moves under the live area and the main chart is shorter. While playing, an SVG is as tall as plotly's
# chart when its width in units is its column's width in pixels: the page's width on a 1280-px projector.
DENSITY_HEIGHT, PRESENTATION_DENSITY_HEIGHT = 420, 380
PRESENTATION_DENSITY_WIDTH = 1120


def render() -> None:
    presenting = st.session_state["presentation"]
    st.session_state.setdefault(PLAYING_KEY, False)
    st.header("How a GAN learns")
    if not presenting:
        _explain()
    _repair_settings()
    buttons = _controls(presenting)
    game = _game()
    _buttons(game, buttons, presenting)
    playing = st.session_state[PLAYING_KEY]
    if playing:
        st.html(LIVE_CSS)  # style only: Streamlit puts it where it takes no room
    st.fragment(_live_area, run_every=TICK_SECONDS if playing else None)()
    if presenting:
        _explain()


def _explain() -> None:
    st.markdown(
        "A generator G turns noise z into numbers x; a discriminator D outputs the probability that x is "
        "real. D climbs the value function V, G descends it:"
    )
    st.latex(
        r"V(D,G) = \mathbb{E}_{x\sim p_\text{data}}\big[\log D(x)\big]"
        r" + \mathbb{E}_{z}\big[\log\big(1 - D(G(z))\big)\big]"
    )
    st.markdown(
        r"For a fixed G the best discriminator is $D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + "
        r"p_g(x)}$, and then $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)$. "
        r"So the equilibrium is $p_g = p_\text{data}$: there $D^* = \frac12$ everywhere and $V = -\log 4$."
    )


def _repair_settings() -> None:
    """The URL schema bounds every value; what it cannot know is which preset names exist and which learning rates
    the sliders offer. A link holding others gets the default preset or the nearest offered rate, and says so
    (naming the parameters, never repeating the link's text)."""
    state, fixed = st.session_state, []
    if state["toy_preset"] not in PRESETS:
        fixed.append(URL_STATE["toy_preset"].param)
        state["toy_preset"] = URL_STATE["toy_preset"].default
    for key in ("toy_lr_g", "toy_lr_d"):
        rate = state[key]
        if rate not in LEARNING_RATES:
            fixed.append(URL_STATE[key].param)
            state[key] = min(LEARNING_RATES, key=lambda option: abs(math.log(option / rate)))
    if fixed:
        st.warning(
            f"Some game settings in the link were not valid ({', '.join(fixed)}); the nearest valid "
            "values are used instead.",
            icon=":material/warning:",
        )


def _controls(presenting: bool):
    """The game's settings; returns where the Step / Play / Pause / Reset buttons go: presenting, the first column of
    the settings' own row, since the loss, k and the learning rates are hidden."""
    if presenting:
        buttons, first, third = st.columns([4, 4, 2], vertical_alignment="bottom")
    else:
        first, second, third = st.columns([3, 2, 1.5], vertical_alignment="bottom")
    with first:
        st.segmented_control(
            "p_data",
            list(PRESETS),
            key="toy_preset",
            required=True,
            help="The data distribution (a Gaussian mixture). On 'far apart' G usually collapses onto one mode.",
        )
    with third:  # kept when presenting: the one switch the talk needs besides the data
        _optimal_toggle()
    if presenting:
        return buttons
    with second:
        st.segmented_control(
            "Generator loss",
            list(LOSSES),
            key="toy_loss",
            required=True,
            help="Non-saturating: G minimises −log D(G(z)). Minimax (the original game): G minimises log(1 − D(G(z))).",
        )
    optimal = st.session_state["toy_optimal_d"]  # D* has no steps or learning rate
    columns = st.columns(4)
    columns[0].slider(
        "k: D steps per G step",
        1,
        MAX_K,
        key="toy_k",
        disabled=optimal,
        help="Algorithm 1 of the GAN paper: k discriminator updates, then one generator update. "
        "A larger k keeps D closer to D*.",
    )
    columns[1].select_slider("G learning rate", LEARNING_RATES, key="toy_lr_g", format_func=lambda v: f"{v:g}")
    columns[2].select_slider(
        "D learning rate", LEARNING_RATES, key="toy_lr_d", format_func=lambda v: f"{v:g}", disabled=optimal
    )
    columns[3].segmented_control(
        "Speed",
        list(SPEEDS),
        key="toy_speed",
        required=True,
        help=", ".join(f"{name}: {rate} steps/s" for name, rate in SPEEDS.items()),
    )
    st.caption(
        "Changing the data, the loss, D, k or a learning rate restarts the game from step 0. The speed does not."
    )
    return st  # the buttons' own row, under the settings


def _optimal_toggle() -> None:
    st.toggle(
        "Optimal D (D = D*)",
        key="toy_optimal_d",
        help="Before each G step, set D to its optimum D* = p_data / (p_data + p_g), computed from G's current "
        "samples, instead of k gradient steps on the small network. Then V(D, G) = −log 4 + 2 JSD and the estimate "
        "meets the exact JSD. Against D* the non-saturating loss favours one mode; the minimax loss covers both.",
    )


def _settings() -> tuple:
    state = st.session_state
    keys = ("toy_preset", "toy_loss", "toy_k", "toy_lr_g", "toy_lr_d", "toy_optimal_d")
    return tuple(state[key] for key in keys)


def _game():
    """This session's game, rebuilt (at step 0) when a setting that defines it has changed."""
    wanted = _settings()
    game = st.session_state.get(GAME_KEY)
    if game is not None:
        config = game.config
        if (config.preset, config.loss, config.d_steps, config.lr_g, config.lr_d, config.optimal_d) == wanted:
            return game
        st.toast("Settings changed: the game restarted from step 0.", icon=":material/restart_alt:")
    game = services.toy_game(*wanted)
    st.session_state[GAME_KEY] = game
    return game


def _buttons(game, area, presenting: bool) -> None:
    playing = st.session_state[PLAYING_KEY]
    columns = area.columns([1, 1, 1, 1] if presenting else [1, 1, 1, 1, 4])
    columns[0].button(
        "Step",
        key="toy_step",
        icon=":material/skip_next:",
        width="stretch",
        on_click=lambda: game.step(1),
        help="One generator step (after k discriminator steps).",
    )
    columns[1].button(
        "Play",
        key="toy_play",
        icon=":material/play_arrow:",
        width="stretch",
        disabled=playing,
        type="primary",
        on_click=_set_playing,
        args=(True,),
    )
    columns[2].button(
        "Pause",
        key="toy_pause",
        icon=":material/pause:",
        width="stretch",
        disabled=not playing,
        on_click=_set_playing,
        args=(False,),
    )
    columns[3].button(
        "Reset",
        key="toy_reset",
        icon=":material/restart_alt:",
        width="stretch",
        on_click=_reset,
        args=(game,),
        help="Back to step 0 with the same settings (and pause).",
    )


def _set_playing(playing: bool) -> None:
    st.session_state[PLAYING_KEY] = playing
    st.session_state.pop("_toy_last_tick", None)


def _reset(game) -> None:
    _set_playing(False)
    game.reset()


def _steps_due() -> int:
    """Steps for this tick at the chosen speed, measured against the clock: on a busy CPU ticks arrive late (a
    redraw can take a second), and counting steps per tick would then slow the training down with the picture.
    The elapsed time is capped so that a stalled connection does not come back to a burst of steps."""
    state = st.session_state
    now = time.monotonic()
    elapsed = min(now - state.get("_toy_last_tick", now - TICK_SECONDS), MAX_TICK_SECONDS)
    due = SPEEDS[state["toy_speed"]] * elapsed + state.get("_toy_carry", 0.0)
    state["_toy_last_tick"], state["_toy_carry"] = now, due - int(due)
    return int(due)


def _train(game, steps: int) -> None:
    """Up to ``steps`` training steps within the tick's budget; steps left over are dropped, not owed, so on a CPU
    too busy for the chosen speed the game runs as fast as it can and the picture still updates."""
    deadline, done = time.monotonic() + TRAIN_BUDGET_SECONDS, 0
    while done < steps and time.monotonic() < deadline:
        done += len(game.step(min(5, steps - done)))


def _live_area() -> None:
    """Draw the game as it is, then (while playing) train for the next tick: see the module's docstring."""
    game = st.session_state[GAME_KEY]
    with st.container(key="toy_live"):
        _draw(game)
    if st.session_state[PLAYING_KEY]:
        _train(game, _steps_due())


def _draw(game) -> None:
    snap = game.snapshot()
    history = _thinned(game.history_columns())
    presenting = st.session_state["presentation"]
    _metrics(snap)
    _chart(
        _density_figure(snap, PRESENTATION_DENSITY_HEIGHT if presenting else DENSITY_HEIGHT),
        r"Data p\_data, generator p\_g, discriminator D and the optimal D\*",
        "toy_density_chart",
        PRESENTATION_DENSITY_WIDTH if presenting else 1000,
    )
    _note_mode_collapse(snap, game.data)
    left, right = st.columns(2)
    with left:
        _chart(_value_figure(history, snap.step), "Value V(D, G)", "toy_value_chart", 500)
    with right:
        _chart(_jsd_figure(history, snap.step), "Jensen–Shannon divergence", "toy_jsd_chart", 500)
        st.caption(_jsd_note(game.config.optimal_d))
    st.subheader("Why the non-saturating loss exists")
    left, right = st.columns([3, 2])
    with left:
        _chart(
            _loss_figure(snap.d_fake, game.config.loss),
            "G's loss and its gradient as functions of D(G(z))",
            "toy_loss_chart",
            600,
        )
    with right:
        _chart(
            _gradient_figure(history, snap.step), "G's gradient norm per step (before Adam)", "toy_gradient_chart", 400
        )
    st.caption(
        "Early on D rejects fakes easily, so D(G(z)) is small. At D(G(z)) = 0.1 the non-saturating loss is "
        "−ln(0.1) ≈ 2.3 with gradient strength 0.9, while the minimax log(1 − 0.1) ≈ −0.105 barely moves "
        "(gradient strength 0.1): the minimax generator learns slowest exactly when it is worst. Both losses "
        "have the same fixed point. The dots are this batch's D(G(z)) on the loss in use; Adam rescales "
        "steps, so trajectories differ less than the gradient norms on the right."
    )


def _jsd_note(optimal: bool) -> str:
    if optimal:
        return "D = D*, so V = −log 4 + 2 JSD and the estimate (log 4 + V) / 2 is the exact JSD: the two lines are one."
    return (
        "The estimate (log 4 + V) / 2 is a lower bound on the JSD, tight exactly when D = D*. This D is a small "
        "network trained k steps per G step and stays far from D*, so the bound is loose; switch on "
        "**Optimal D** to see it meet the exact JSD."
    )


def _note_mode_collapse(snap, data) -> None:
    """Name the data modes G has abandoned while it covers others (on 'far apart' this usually happens)."""
    dx = snap.x[1] - snap.x[0]
    covered = [
        snap.p_g[np.abs(snap.x - mean) < 3 * std].sum() * dx >= 0.25 * weight
        for weight, mean, std in zip(data.weights, data.means, data.stds)
    ]
    missed = [
        (weight, mean) for (weight, mean, _), hit in zip(zip(data.weights, data.means, data.stds), covered) if not hit
    ]
    if missed and any(covered) and snap.step >= COLLAPSE_AFTER_STEPS:
        where = " and ".join(f"x = {mean:g} ({weight:.0%} of the data)" for weight, mean in missed)
        st.markdown(
            f"**Mode collapse:** G puts almost no mass near {where}. D calls that region real, but G only "
            "feels D's slope where its own samples are, so nothing pulls it across the gap."
        )
    else:  # always one line here, so that the charts below do not jump when the note comes and goes
        st.caption(
            "Ticks under the axis: this batch's fakes G(z). D* is the best discriminator for the current G; "
            "where p_g = p_data it is ½ (dashed), which is where the game ends."
        )


def _metrics(snap) -> None:
    weights = snap.p_data / snap.p_data.sum()  # the grid is uniform, so this is the quadrature for E_p_data
    values = [
        ("Step", f"{snap.step:,}"),
        ("V(D, G)", f"{snap.value:.3f}"),
        ("−log 4", f"{-LOG_4:.3f}"),
        ("JSD exact", f"{snap.jsd_exact:.3f}"),
        ("JSD estimate", _estimate_text(snap.jsd_estimate)),
        ("mean D(x)", f"{float(weights @ snap.d):.2f}"),
        ("mean D(G(z))", f"{float(snap.d_fake.mean()):.2f}"),
    ]
    for column, (label, value) in zip(st.columns(len(values)), values):
        column.metric(label, value, help=ESTIMATE_HELP if label == "JSD estimate" else None)


ESTIMATE_HELP = (
    "(log 4 + V) / 2: a lower bound on the JSD, since V(D, G) ≤ V(D*, G). A D far from D* (at step 0 it is "
    "random) can push it below 0, where it says nothing the JSD's own floor does not: it is shown as 0 then. "
    "The chart below draws it unclipped."
)


def _estimate_text(estimate: float) -> str:
    """The JSD estimate for the metric: a JSD is never negative, so a bound below 0 reads 0.000 (never −0.002)."""
    return f"{max(0.0, estimate):.3f}"


def _thinned(history: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    stride = max(1, math.ceil(len(history["step"]) / MAX_CHART_POINTS))
    return {name: column[::stride] for name, column in history.items()}


def _chart(figure: dict, title: str, key: str, width: int) -> None:
    """Plotly when paused; while playing, an SVG of the same figure ``width`` units wide (it scales to the column) in
    the chart's place, one element that each tick updates in place (see the module's docstring). Titles are Streamlit
    text rather than plotly's: they wrap on a narrow screen instead of running into the legend."""
    st.markdown(f"**{title}**")
    if st.session_state[PLAYING_KEY]:
        st.markdown(svg_chart.svg(figure, width), unsafe_allow_html=True)
    else:
        st.plotly_chart(go.Figure(figure), key=key, config={"displayModeBar": False})


# Figures are written as plain dicts (validated by go.Figure only when plotly draws them): all five are rebuilt on
# every tick, and building them with add_trace / add_hline / make_subplots costs several times as much per tick.
def _figure(traces: list[dict], layout: dict, height: int) -> dict:
    base = dict(
        height=height,
        font=FONT,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
    )
    return dict(data=traces, layout=base | layout)


def _line(x, y, name: str, color: str, width: float = 3, dash: str = "solid", **extra) -> dict:
    return dict(
        type="scatter", mode="lines", x=x, y=y, name=name, line=dict(color=color, width=width, dash=dash), **extra
    )


def _density_figure(snap, height: int = DENSITY_HEIGHT) -> dict:
    """p_data and p_g (left axis), D and D* (right axis, 0..1), and this batch's fakes as a rug under the axis."""
    low, high = min(snap.data_range[0], -1.0), max(snap.data_range[1], 1.0)  # fresh G sits near 0: keep it in view
    pad = 0.03 * (high - low)
    # A fresh or collapsed G is a tall spike; capping the axis keeps p_data readable (the spike runs off the top).
    top = 1.15 * min(max(snap.p_data.max(), snap.p_g.max()), 2.5 * snap.p_data.max())
    below = 0.09  # room under zero for the rug, the same fraction on both axes so that their zeros line up
    traces = [
        _line(snap.x, snap.p_data, "p_data (exact)", BLUE, fill="tozeroy", fillcolor="rgba(31,119,180,0.18)"),
        _line(snap.x, snap.p_g, "p_g (G's samples, KDE)", ORANGE, fill="tozeroy", fillcolor="rgba(255,127,14,0.18)"),
        dict(
            type="scatter",
            mode="markers",
            x=snap.fake_x,
            y=np.full(snap.fake_x.shape, -0.5 * below * top),
            name="fakes G(z) in this batch",
            hoverinfo="x",
            marker=dict(symbol="line-ns-open", size=16, color=ORANGE, opacity=0.6, line=dict(width=2)),
        ),
        _line(snap.x, snap.d, "D(x)", GREEN, yaxis="y2"),
        _line(snap.x, snap.d_star, "D*(x)", PURPLE, width=2, dash="dot", yaxis="y2"),
    ]
    layout = dict(
        xaxis=dict(title="x", range=[low - pad, high + pad]),
        yaxis=dict(title="density", range=[-below * top, top], showgrid=False),
        yaxis2=dict(
            title="D(x)  (dashed: ½)",
            range=[-below * 1.05, 1.05],
            overlaying="y",
            side="right",
            tickvals=[0, 0.25, 0.5, 0.75, 1],
            showgrid=False,
        ),
        shapes=[
            dict(
                type="line",
                xref="paper",
                x0=0,
                x1=1,
                yref="y2",
                y0=0.5,
                y1=0.5,
                line=dict(color=GREY, width=1.5, dash="dash"),
            )
        ],
    )
    return _figure(traces, layout, height)


def _history_figure(
    history, lines, reference: float, reference_text: str, last_step: int, y_title: str, y_range=None
) -> dict:
    right = max(last_step, 10)
    traces = [_line(history["step"], history[column], name, color) for name, column, color in lines]
    traces.append(
        _line([0, right], [reference, reference], reference_text, GREY, width=1.5, dash="dash", hoverinfo="skip")
    )  # a trace rather than a shape, so that the legend explains it
    layout = dict(xaxis=dict(title="step", range=[0, right]), yaxis=dict(title=y_title, range=y_range))
    return _figure(traces, layout, 320)


def _value_figure(history, last_step: int) -> dict:
    return _history_figure(
        history, [("V(D, G)", "value", BLUE)], -LOG_4, f"−log 4 ≈ {-LOG_4:.3f} (equilibrium)", last_step, "V"
    )


def _jsd_figure(history, last_step: int) -> dict:
    low = min(0.0, float(history["jsd_estimate"].min())) if len(history["step"]) else 0.0
    return _history_figure(
        history,
        [("JSD exact", "jsd_exact", ORANGE), ("estimate (log 4 + V) / 2", "jsd_estimate", BLUE)],
        LOG_2,
        f"log 2 ≈ {LOG_2:.3f} (maximum)",
        last_step,
        "JSD",
        y_range=[low - 0.03, LOG_2 + 0.08],
    )


def _loss_figure(d_fake: np.ndarray, loss_in_use: str) -> dict:
    """G's loss (left panel) and gradient strength (right panel) as functions of D(G(z)) for both losses, with
    this batch's D(G(z)) marked on the loss in use."""
    curves = services.loss_curves()
    batch = np.clip(d_fake, curves.d[0], curves.d[-1])
    lines = {
        "non-saturating": (curves.non_saturating, curves.non_saturating_grad, -np.log(batch), 1 - batch, ORANGE),
        "minimax": (curves.minimax, curves.minimax_grad, np.log1p(-batch), batch, BLUE),
    }
    traces = []
    for name, (loss, gradient, batch_loss, batch_gradient, color) in lines.items():
        active = name == loss_in_use
        label = LOSS_LABELS[name] + ("  (in use)" if active else "")
        style = dict(width=4 if active else 2, dash="solid" if active else "dash", legendgroup=name)
        traces += [
            _line(curves.d, loss, label, color, **style),
            _line(curves.d, gradient, label, color, showlegend=False, xaxis="x2", yaxis="y2", **style),
        ]
        if active:
            marker = dict(color=color, size=9, opacity=0.55, line=dict(color="white", width=1))
            points = dict(type="scatter", mode="markers", x=batch, marker=marker, hoverinfo="x")
            traces += [
                points | dict(y=batch_loss, name="this batch's D(G(z))"),
                points | dict(y=batch_gradient, showlegend=False, xaxis="x2", yaxis="y2"),
            ]
    marks = [
        dict(x=0.1, y=-math.log(0.1), text="−ln 0.1 ≈ 2.3", ax=55, ay=-25),
        dict(x=0.1, y=math.log(0.9), text="ln 0.9 ≈ −0.105", ax=60, ay=30),
        dict(x=0.1, y=0.9, text="0.9", ax=35, ay=-15, xref="x2", yref="y2"),
        dict(x=0.1, y=0.1, text="0.1", ax=35, ay=15, xref="x2", yref="y2"),
    ]
    at_tenth = dict(type="line", x0=0.1, x1=0.1, y0=0, y1=1, line=dict(color=GREY, width=1, dash="dot"))
    layout = dict(
        xaxis=dict(title="D(G(z))", range=[0, 1], domain=[0, 0.45]),
        xaxis2=dict(title="D(G(z))", range=[0, 1], domain=[0.55, 1]),
        yaxis=dict(title="G's loss", range=[-2.6, 4.6]),
        yaxis2=dict(title="gradient strength |∂loss/∂logit|", range=[-0.03, 1.05], anchor="x2"),
        shapes=[at_tenth | dict(xref="x", yref="y domain"), at_tenth | dict(xref="x2", yref="y2 domain")],
        annotations=[mark | dict(showarrow=True) for mark in marks],
        legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0),
    )
    return _figure(traces, layout, 400)


def _gradient_figure(history, last_step: int) -> dict:
    traces = [_line(history["step"], history["grad_norm_g"], "‖∇G‖", GREEN)]
    layout = dict(
        xaxis=dict(title="step", range=[0, max(last_step, 10)]),
        showlegend=False,
        yaxis=dict(title="‖gradient of G's loss‖", rangemode="tozero"),
    )
    return _figure(traces, layout, 400)
