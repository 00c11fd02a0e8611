"""Session-state keys, their defaults, and their mirror in the URL.

Session state holds plain values only (seeds, strengths, names), never tensors. Every value listed in URL_STATE
is written to the query string after each run and read back on a session's first run, so a bookmark
reproduces the exact picture (the page itself is in the URL path, set by st.navigation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip().lstrip("-").isdigit()]


def _bool(text: str) -> bool:
    return text.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class UrlValue:
    param: str  # name in the query string
    default: Any
    parse: Callable[[str], Any]
    format: Callable[[Any], str] = str


def _join(values) -> str:
    return ",".join(str(v) for v in values)


# session key -> how it appears in the URL. Pages add their own entries by importing and extending nothing:
# every persistent control of the app is listed here, so this table is the app's whole bookmarkable state.
URL_STATE: dict[str, UrlValue] = {
    "checkpoint": UrlValue("ckpt", "", str),
    "presentation": UrlValue("present", False, _bool, lambda v: "1" if v else "0"),
    # samples
    "seed": UrlValue("seed", 0, int),
    "grid_size": UrlValue("n", 16, int),
    "truncation": UrlValue("psi", 1.0, float),
    "pins": UrlValue("pins", [], _ints, _join),
    "tile_info": UrlValue("info", "seed", str),
    # interpolate
    "endpoints": UrlValue("ends", [], _ints, _join),
    "frames": UrlValue("frames", 16, int),
    # arithmetic
    "term_a": UrlValue("a", [], _ints, _join),
    "term_b": UrlValue("b", [], _ints, _join),
    "term_c": UrlValue("c", [], _ints, _join),
    "direction": UrlValue("dir", "", str),
    "direction_method": UrlValue("method", "mean_difference", str),
    "strength": UrlValue("strength", 1.5, float),
    "edit_seed": UrlValue("eseed", 0, int),
    "arithmetic_mode": UrlValue("mode", "Analogies", str),
    "conditional": UrlValue("cond", True, _bool, lambda v: "1" if v else "0"),
    "per_face": UrlValue("perface", False, _bool, lambda v: "1" if v else "0"),
    "neighbour_seed": UrlValue("nseed", 0, int),
    "exemplar_k": UrlValue("k", 3, int),
    "positive_pins": UrlValue("pos", [], _ints, _join),
    "negative_pins": UrlValue("neg", [], _ints, _join),
    # latent map
    "map_points": UrlValue("points", 1000, int),
    "map_method": UrlValue("proj", "PCA", str),
    "map_space": UrlValue("space", "", str),
    "map_color": UrlValue("color", "", str),
    "perplexity": UrlValue("perp", 30, int),
    "map_first": UrlValue("mfirst", 0, int),
    "map_iterations": UrlValue("iter", 500, int),  # t-SNE of 2,000 points: 9.6 s at 500 vs 11.8 s at 750, one thread
    "map_seed": UrlValue("mseed", 0, int),
    "map_clusters": UrlValue("clusters", 6, int),
    "map_atlas": UrlValue("atlas", False, _bool, lambda v: "1" if v else "0"),
    "map_shown": UrlValue("map", False, _bool, lambda v: "1" if v else "0"),  # Compute was pressed: a link redraws it
    # training (the run followed on the Training page; the sidebar's training settings are not in the URL)
    "training_run": UrlValue("run", "", str),
    # how a GAN learns (the toy 1-D game); changing any of these but the speed restarts the game
    "toy_preset": UrlValue("game_preset", "two modes", str),
    "toy_loss": UrlValue("game_loss", "non-saturating", str),
    "toy_k": UrlValue("game_k", 1, int),
    "toy_lr_g": UrlValue("game_lrg", 0.002, float),
    "toy_lr_d": UrlValue("game_lrd", 0.002, float),
    "toy_speed": UrlValue("game_speed", "normal", str),
}


def init_state() -> None:
    """Run first in every script run: fill defaults, read the URL once per session, and keep values alive
    across pages (Streamlit drops a widget's key when its page is not shown, unless it is re-assigned)."""
    first_run = "_state_initialised" not in st.session_state
    params = st.query_params
    for key, spec in URL_STATE.items():
        if first_run and spec.param in params:
            try:
                st.session_state[key] = spec.parse(params[spec.param])
            except ValueError:
                st.session_state[key] = spec.default  # a hand-edited bad URL value falls back to the default
        elif key not in st.session_state:
            st.session_state[key] = spec.default
        else:
            st.session_state[key] = st.session_state[key]
    st.session_state["_state_initialised"] = True


def url_params() -> dict[str, str]:
    """The query string of the current state: every value that differs from its default."""
    params = {}
    for key, spec in URL_STATE.items():
        value = st.session_state.get(key, spec.default)
        if value != spec.default and value not in ("", []):
            params[spec.param] = spec.format(value)
    return params


def sync_url() -> None:
    """Mirror the state into the browser's query string (defaults are dropped to keep links short)."""
    wanted = url_params()
    for param in [p for p in st.query_params if p not in wanted]:
        del st.query_params[param]
    for param, text in wanted.items():
        if st.query_params.get(param) != text:
            st.query_params[param] = text


def current_checkpoint() -> str:
    """The checkpoint key every page uses ("" while none is open). It changes through open_checkpoint, apart from
    the sidebar filling in the default on arrival."""
    return st.session_state["checkpoint"]


def open_checkpoint(path: str, check: Callable[[str], object] | None = None) -> None:
    """Make ``path`` the checkpoint every page uses and clear the pins: seeds mean different images under another
    model. ``check`` (services.explorer) loads the file first where it is not known to be good; if it raises,
    nothing changes, so a bad file leaves the current model in place. The caller passes it in, rather than this
    module importing services, so that state stays a leaf that every layer can import."""
    if check is not None:
        check(path)
    st.session_state["checkpoint"] = path
    st.session_state["pins"] = []


def toggle_pin(seed: int) -> None:
    pins = list(st.session_state.get("pins", []))
    st.session_state["pins"] = [s for s in pins if s != seed] if seed in pins else pins + [seed]
