"""Session-state keys, their defaults, and their mirror in the URL.

Session state holds plain values only (seeds, strengths, names), never tensors. Every value listed in URL_STATE
is written to the query string after each run and read back on a session's first run, so a bookmark
reproduces the exact picture (the page itself is in the URL path, set by st.navigation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.text import plain

MAX_SEED = 2**31 - 1  # ganlib.latent.MAX_SEED: the seeds the CLI reproduces
# Bounds that widgets and the URL share (the widgets import them from here).
GRID_SIZES = (16, 36, 64, 100, 144, 256)
MIN_FRAMES, MAX_FRAMES = 2, 64
MAX_EXEMPLARS = 50
MIN_POINTS, MAX_POINTS = 20, 5000
TRUNCATION_RANGE = (0.0, 1.5)  # ganlib.latent.TRUNCATION_RANGE
STRENGTH_RANGE = (-3.0, 3.0)
COMPONENT_STRENGTH_RANGE = (-3.0, 3.0)  # steps along a unit vector: standard deviations of z, to the edge G saw
COMPONENT_STRENGTH_STEP = 0.5  # the slider's step: each strength is one measurement, computed once and kept
COMPONENT_IDS = tuple(f"{kind}{i}" for kind in ("pc", "sefa") for i in range(1, 6))  # ganlib.components.K = 5
MAX_SEEDS_IN_A_LIST = 64  # pins, endpoints, exemplar terms: enough for any picture, bounded for a hostile link
MAX_TEXT = 100  # names in the URL (attribute, run, feature space): longer is never a real name
# Your images (the "Your image" page) are kept as latent codes, never as pictures: about 270 characters each at d = 100
MAX_PROJECTED = 8
MAX_CODE_TEXT = 1400  # the longest code ganlib.latent_code writes (512 values) is 1,369 characters
PROJECTED_TOKEN = "img"  # "img2" in a list of endpoints is your second image, projected[1]


# Each parser turns the query-string text into a value or raises ValueError with a short reason.
def integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().lstrip("-").isdigit() or len(text) > 20:
            raise ValueError("not a whole number")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"not from {low} to {high}")
        return value

    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text[:40])  # float() refuses junk with ValueError; nan and inf fail the bounds below
        if not low <= value <= high:
            raise ValueError(f"not from {low:g} to {high:g}")
        return value

    return parse


def on_steps(parse: Callable[[str], float], step: float) -> Callable[[str], float]:
    """``parse``, rounded to the slider's steps: a link may hold any float, and each distinct value is one more
    measurement computed and stored."""
    return lambda text: round(parse(text) / step) * step


def choice(*options) -> Callable[[str], Any]:
    def parse(text: str):
        matches = [option for option in options if str(option) == text]
        if not matches:
            raise ValueError("not one of " + ", ".join(map(str, options)))
        return matches[0]

    return parse


def seeds(text: str) -> list[int]:
    parts = [part for part in text.split(",") if part.strip()]
    if len(parts) > MAX_SEEDS_IN_A_LIST:
        raise ValueError(f"more than {MAX_SEEDS_IN_A_LIST} seeds")
    return list(dict.fromkeys(integer(0, MAX_SEED)(part.strip()) for part in parts))


_CODE = re.compile(r"z[0-9]+\.[A-Za-z0-9_-]+")  # a versioned latent code; its exact form is ganlib.latent_code's


def latent_codes(text: str) -> list[str]:
    """Your images' latents as text codes, comma separated. Only the count, length and alphabet are checked here:
    the sidebar decodes each strictly for the open model (services.latent_code_problems) and drops what fails."""
    if len(text) > MAX_PROJECTED * (MAX_CODE_TEXT + 1):
        raise ValueError("too long")
    parts = [part for part in text.split(",") if part]
    if len(parts) > MAX_PROJECTED:
        raise ValueError(f"more than {MAX_PROJECTED} images")
    if not all(len(part) <= MAX_CODE_TEXT and _CODE.fullmatch(part) for part in parts):
        raise ValueError("not a latent code")
    return list(dict.fromkeys(parts))


def endpoints(text: str) -> list[int | str]:
    """Seeds, and your images as "img1" to "img8" (projected[0] to projected[7]), comma separated."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > MAX_SEEDS_IN_A_LIST:
        raise ValueError(f"more than {MAX_SEEDS_IN_A_LIST} endpoints")
    values: list[int | str] = []
    for part in parts:
        if part.startswith(PROJECTED_TOKEN):
            values.append(projected_token(integer(1, MAX_PROJECTED)(part[len(PROJECTED_TOKEN) :]) - 1))
        else:
            values.append(integer(0, MAX_SEED)(part))
    return list(dict.fromkeys(values))


def name(text: str) -> str:
    """A name chosen from a list the page knows (the page itself checks it is one): only its length is bounded."""
    if len(text) > MAX_TEXT or not text.isprintable():
        raise ValueError("not a name")
    return text


def flag(text: str) -> bool:
    if text.lower() not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("not 0 or 1")
    return text.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class UrlValue:
    param: str  # name in the query string
    default: Any
    parse: Callable[[str], Any]  # text -> value, or ValueError: the URL's one schema
    format: Callable[[Any], str] = str


def _join(values) -> str:
    return ",".join(str(v) for v in values)


def _flag(value: bool) -> str:
    return "1" if value else "0"


# session key -> how it appears in the URL. Every persistent control of the app is listed here, with the bounds
# a shared link must respect, so this table is the app's whole bookmarkable state and its one URL schema.
URL_STATE: dict[str, UrlValue] = {
    "checkpoint": UrlValue("ckpt", "", name),  # an id from the catalog (bundled/…, run/…, upload/…), never a path
    "presentation": UrlValue("present", False, flag, _flag),
    # samples
    "seed": UrlValue("seed", 0, integer(0, MAX_SEED - GRID_SIZES[-1] + 1)),
    "grid_size": UrlValue("n", 16, choice(*GRID_SIZES)),
    "truncation": UrlValue("psi", 1.0, number(*TRUNCATION_RANGE)),
    "pins": UrlValue("pins", [], seeds, _join),
    "projected": UrlValue("z", [], latent_codes, _join),  # your images' latents (views/your_image.py)
    "tile_info": UrlValue("info", "seed", name),
    # interpolate
    "endpoints": UrlValue("ends", [], endpoints, _join),
    "frames": UrlValue("frames", 16, integer(MIN_FRAMES, MAX_FRAMES)),
    # arithmetic
    "term_a": UrlValue("a", [], seeds, _join),
    "term_b": UrlValue("b", [], seeds, _join),
    "term_c": UrlValue("c", [], seeds, _join),
    "direction": UrlValue("dir", "", name),
    "direction_method": UrlValue(
        "method", "mean_difference", choice("mean_difference", "svm", "exemplar3", "keep_person")
    ),
    "strength": UrlValue("strength", 1.5, number(*STRENGTH_RANGE)),
    "edit_seed": UrlValue("eseed", 0, integer(0, MAX_SEED - 20_000)),
    "arithmetic_mode": UrlValue("mode", "Analogies", choice("Analogies", "Directions", "Components")),
    "component": UrlValue("comp", "pc1", choice(*COMPONENT_IDS)),  # SeFa / GANSpace, found without labels
    # starts at 0 so a speaker drags the change in; a link beyond the range gets the notice and 0
    "component_strength": UrlValue(
        "cstrength", 0.0, on_steps(number(*COMPONENT_STRENGTH_RANGE), COMPONENT_STRENGTH_STEP)
    ),
    "conditional": UrlValue("cond", True, flag, _flag),
    "per_face": UrlValue("perface", False, flag, _flag),
    "neighbour_seed": UrlValue("nseed", 0, integer(0, MAX_SEED - 64)),
    "exemplar_k": UrlValue("k", 3, integer(1, MAX_EXEMPLARS)),
    "positive_pins": UrlValue("pos", [], seeds, _join),
    "negative_pins": UrlValue("neg", [], seeds, _join),
    # latent map
    "map_points": UrlValue("points", 500, integer(MIN_POINTS, MAX_POINTS)),  # drawn on arrival (PCA, about 2 s)
    "map_method": UrlValue("proj", "PCA", choice("PCA", "t-SNE")),
    "map_space": UrlValue("space", "", name),
    "map_color": UrlValue("color", "", name),
    "perplexity": UrlValue("perp", 30, integer(2, 100)),
    "map_first": UrlValue("mfirst", 0, integer(0, MAX_SEED - MAX_POINTS)),
    "map_iterations": UrlValue("iter", 500, integer(250, 2000)),  # t-SNE of 2,000 points: 4-5 s CPU at 500, 1 thread
    "map_seed": UrlValue("mseed", 0, integer(0, MAX_SEED)),
    "map_clusters": UrlValue("clusters", 6, integer(2, 20)),
    "map_atlas": UrlValue("atlas", False, flag, _flag),
    "map_shown": UrlValue("map", False, flag, _flag),  # Compute was pressed: a link redraws it if cheap, else waits
    # training (the run followed on the Training page; the sidebar's training settings are not in the URL)
    "training_run": UrlValue("run", "", name),
    # how a GAN learns (the toy 1-D game); changing any of these but the speed restarts the game
    "toy_preset": UrlValue("game_preset", "two modes", name),
    "toy_loss": UrlValue("game_loss", "non-saturating", choice("non-saturating", "minimax")),
    "toy_k": UrlValue("game_k", 1, integer(1, 10)),
    "toy_lr_g": UrlValue("game_lrg", 0.002, number(1e-4, 5e-2)),
    "toy_lr_d": UrlValue("game_lrd", 0.002, number(1e-4, 5e-2)),
    "toy_optimal_d": UrlValue("game_dstar", False, flag, _flag),  # D = D* in closed form instead of a trained net
    "toy_speed": UrlValue("game_speed", "normal", choice("slow", "normal", "fast")),
}


# Query parameters that are not settings, read elsewhere on a session's first run: a deck (dashboard/deck.py).
DECK_PARAM = "deck"
OTHER_PARAMS = (DECK_PARAM,)
MAX_NAMED_UNKNOWN = 5  # unknown parameters named in the notice; more are counted
# Names the schema can only bound: whether the open model, the runs folder or a page offers one is known where it
# is used. A page replaces one it cannot use; what it replaced from the link is named in the notice (see
# note_replaced_link_values). The checkpoint is judged by the sidebar, which says so itself.
JUDGED_WHERE_USED = ("tile_info", "direction", "map_space", "map_color", "training_run", "toy_preset")
_LINK_VALUES = "_link_values"  # session key: {key: the value the link gave} for JUDGED_WHERE_USED, until judged


def init_state() -> None:
    """Run first in every script run: fill defaults, read the URL once per session, and keep values alive
    across pages (Streamlit drops a widget's key when its page is not shown, unless it is re-assigned)."""
    first_run = "_state_initialised" not in st.session_state
    params = st.query_params
    ignored, from_link = [], {}
    for key, spec in URL_STATE.items():
        if first_run and spec.param in params:
            try:
                st.session_state[key] = spec.parse(params[spec.param])
            except ValueError as reason:
                st.session_state[key] = spec.default  # a hand-edited or hostile value falls back to the default
                ignored.append(f"{spec.param} ({reason})")
            else:
                if key in JUDGED_WHERE_USED:
                    from_link[key] = st.session_state[key]
        elif key not in st.session_state:
            st.session_state[key] = spec.default
        else:
            st.session_state[key] = st.session_state[key]
    if first_run:
        ignored += _unknown_params(params)
        st.session_state[_LINK_VALUES] = from_link
    if ignored:
        st.session_state["_url_notice"] = "The link's " + ", ".join(ignored)[:300] + " was ignored; defaults are shown."
    st.session_state["_state_initialised"] = True


def _unknown_params(params) -> list[str]:
    """The link's parameters that no part of the app reads (a typo, a stale or hand-made link), as notice parts.
    A name is the link's text: cut short, and escaped by dashboard.text.plain (the toast renders markdown)."""
    known = {spec.param for spec in URL_STATE.values()} | set(OTHER_PARAMS)
    unknown = [param for param in params if param not in known]
    named = [f"{plain(param[:30])}{'…' if len(param) > 30 else ''} (not a setting of this app)" for param in unknown]
    if len(named) > MAX_NAMED_UNKNOWN:
        named = named[:MAX_NAMED_UNKNOWN] + [f"{len(named) - MAX_NAMED_UNKNOWN} more unknown parameters"]
    return named


def link_values_in_use() -> dict[str, Any]:
    """The link's values still waiting to be judged where they are used, as they stand now (before a page runs)."""
    waiting = st.session_state.get(_LINK_VALUES) or {}
    return {key: st.session_state.get(key) for key in waiting}


def note_replaced_link_values(before: dict[str, Any]) -> None:
    """After a page ran: name in the notice each of the link's values that the page replaced during its run, because
    it could not use it (an attribute, feature space, caption or run this model or folder lacks). A value someone
    changed between runs is theirs, not the link's, and is no longer watched; one no page has judged yet stays
    watched (its page may not have been opened)."""
    waiting = dict(st.session_state.get(_LINK_VALUES) or {})
    replaced = []
    for key, value in list(waiting.items()):
        if key not in before or before[key] != value:
            del waiting[key]  # changed before the page ran: a widget, a callback or the sidebar, not a refusal
        elif st.session_state.get(key) != value:
            del waiting[key]
            replaced.append(URL_STATE[key].param)
    st.session_state[_LINK_VALUES] = waiting
    if replaced:
        add_url_notice(
            f"The link's {', '.join(replaced)} {'name' if len(replaced) > 1 else 'names'} nothing this page offers; "
            f"{'defaults are' if len(replaced) > 1 else 'the default is'} shown."
        )


def add_url_notice(text: str) -> None:
    """Another value of the link that was ignored, told in the same one-line notice."""
    earlier = st.session_state.get("_url_notice", "")
    st.session_state["_url_notice"] = ((earlier + " " if earlier else "") + text)[:400]


def take_url_notice() -> str:
    """The one-line notice about ignored link values, once (show_url_notice shows it as a toast)."""
    return st.session_state.pop("_url_notice", "")


def show_url_notice() -> None:
    """Show the notice as one toast, after the page ran (a page adds what it could not use). Its text is the app's
    own, but for unknown parameter names, which _unknown_params passes through dashboard.text.plain."""
    notice = take_url_notice()
    if notice:
        st.toast(notice, icon=":material/warning:")


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
    """Make ``path`` the checkpoint every page uses and clear the pins, your images' too: seeds and latents mean
    different images under another model (whose latents may not even have as many values). ``check`` (services.explorer) loads the file first where it is not known to be good; if it raises,
    nothing changes, so a bad file leaves the current model in place. The caller passes it in, rather than this
    module importing services, so that state stays a leaf that every layer can import."""
    if check is not None:
        check(path)
    st.session_state["checkpoint"] = path
    st.session_state[_LINK_VALUES] = {}  # the link's names were for the model it opened, not this one
    st.session_state["pins"] = []
    st.session_state["projected"] = []
    # an "img2" endpoint names a pinned image by its place: left in, it would name the next model's image 2
    st.session_state["endpoints"] = [e for e in st.session_state.get("endpoints", []) if projected_index(e) is None]


def add_typed_seeds(key: str, typed_key: str, error_key: str) -> None:
    """Text-input callback: append the seeds typed into ``typed_key`` to the list ``key``, through the same schema
    as a link's seed lists; a typo leaves the list as it was and says why under ``error_key``."""
    try:
        typed = seeds(st.session_state.get(typed_key, ""))
    except ValueError as reason:
        st.session_state[error_key] = f"Seeds are whole numbers from 0 to {MAX_SEED:,}, separated by commas ({reason})."
        return
    combined = list(dict.fromkeys(list(st.session_state[key]) + typed))
    if len(combined) > MAX_SEEDS_IN_A_LIST:
        st.session_state[error_key] = f"At most {MAX_SEEDS_IN_A_LIST} seeds here."
        return
    st.session_state[key] = combined
    st.session_state[typed_key] = ""


def toggle_pin(seed: int) -> None:
    """Pin or unpin one seed (a button's callback); beyond MAX_SEEDS_IN_A_LIST pins, which a link could not hold,
    it says so instead."""
    pins = list(st.session_state.get("pins", []))
    if seed not in pins and len(pins) >= MAX_SEEDS_IN_A_LIST:
        st.toast(f"At most {MAX_SEEDS_IN_A_LIST} pins: unpin one first.", icon=":material/warning:")
        return
    st.session_state["pins"] = [s for s in pins if s != seed] if seed in pins else pins + [seed]


def projected_token(index: int) -> str:
    """How your image ``index`` (0-based) stands among endpoints: "img1" for the first."""
    return f"{PROJECTED_TOKEN}{index + 1}"


def projected_index(item) -> int | None:
    """The index in projected of an endpoint such as "img2" (1), None for a seed."""
    if isinstance(item, str) and item.startswith(PROJECTED_TOKEN):
        return int(item[len(PROJECTED_TOKEN) :]) - 1
    return None


def add_projected(code: str) -> bool:
    """Pin one of your images' latents; False (and nothing changes) when MAX_PROJECTED are pinned already."""
    codes = list(st.session_state.get("projected", []))
    if code in codes:
        return True
    if len(codes) >= MAX_PROJECTED:
        return False
    st.session_state["projected"] = codes + [code]
    return True


def remove_projected(code: str) -> None:
    """Unpin one of your images; endpoints that named it go, and those after it are renumbered."""
    codes = list(st.session_state.get("projected", []))
    if code not in codes:
        return
    gone = codes.index(code)
    st.session_state["projected"] = [c for c in codes if c != code]
    kept = []
    for item in st.session_state.get("endpoints", []):
        index = projected_index(item)
        if index is None or index < gone:
            kept.append(item)
        elif index > gone:
            kept.append(projected_token(index - 1))
    st.session_state["endpoints"] = kept
