"""The talk deck: saved views ("slides") to step through in presentation mode.

A slide is one view's link: the page's URL path and the query string that state.url_params writes, plus a title.
The deck is a list of plain dicts {"title", "page", "query"} in the session's state. It travels as a small JSON file
and as a link (``?deck=`` followed by the same JSON in base64url), both read here through one strict reader: a deck
comes from a stranger, so every slide's page must be a page of this app and its query must pass the URL's own
schema (state.URL_STATE), with sizes bounded before anything is parsed.

In presentation mode the arrow keys and Page Up / Page Down press two hidden buttons (render_stepper): a tiny script
in a components.html iframe, served from the app's own origin, listens on the page around it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import streamlit as st
import streamlit.components.v1 as components

from dashboard import pages, state

KEY = "deck"  # session key: the slides, a list of {"title", "page", "query"}
POSITION = "_deck_position"  # index of the slide on screen in presentation mode, None before the first
CURRENT_PAGE = "_current_page"  # url_path of the page this run shows (app.py notes it)
FORMAT = 1  # the file's "deck" field: a later format changes it
MAX_SLIDES = 40
MAX_TITLE = 100
MAX_QUERY = 12_000  # a view with 8 of your images is about 11,300 characters (state.MAX_CODE_TEXT)
MAX_FILE_BYTES = 512_000  # 40 slides of the longest query, with room for the JSON around them
MAX_LINK = 6_000  # a link is for a few plain slides; decks with your images travel as files
LINK_PARAM = state.DECK_PARAM
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# Views are compared and stored without the mode they were shown in.
NOT_A_VIEW = {"presentation"}


class DeckError(ValueError):
    """A deck that is refused, with one short line saying why (never repeating the hostile text)."""


# ---------------------------------------------------------------------------------------------- the codec (pure)
def query_values(query: str) -> dict[str, Any]:
    """The settings a slide's query string holds, session key -> value, parsed by the URL's schema; DeckError if
    any is unknown, repeated or out of bounds. Settings it leaves out are their defaults."""
    if len(query) > MAX_QUERY:
        raise DeckError("its link is too long")
    by_param = {spec.param: key for key, spec in state.URL_STATE.items()}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise DeckError("its link is not a query string") from None
    values: dict[str, Any] = {}
    for param, text in pairs:
        key = by_param.get(param)
        if key is None:
            raise DeckError("its link names a setting this app does not have")
        if key in values:
            raise DeckError(f"its link sets {param} twice")
        try:
            values[key] = state.URL_STATE[key].parse(text)
        except ValueError as reason:
            raise DeckError(f"its {param} is {reason}") from None
    return {key: value for key, value in values.items() if key not in NOT_A_VIEW}


def canonical_query(values: dict[str, Any]) -> str:
    """The query string of ``values`` as sync_url writes it: defaults dropped, each value in its URL format."""
    params = {}
    for key, value in values.items():
        spec = state.URL_STATE[key]
        if key not in NOT_A_VIEW and value != spec.default and value not in ("", []):
            params[spec.param] = spec.format(value)
    return urlencode(params)


def make_slide(title: Any, page: Any, query: Any, known_pages) -> dict[str, str]:
    """One checked slide, its query rewritten in canonical form; DeckError says what is wrong."""
    if not isinstance(title, str) or not isinstance(page, str) or not isinstance(query, str):
        raise DeckError("its title, page and query must be text")
    if len(title) > MAX_TITLE or not title.isprintable():
        raise DeckError(f"its title is not one line of at most {MAX_TITLE} characters")
    if page not in known_pages:
        raise DeckError("its page is not a page of this app")
    return {"title": title.strip(), "page": page, "query": canonical_query(query_values(query))}


def deck_json(slides: list[dict[str, str]], *, compact: bool = False) -> str:
    """The deck as the JSON of a deck file (compact: for a link)."""
    document = {"deck": FORMAT, "slides": [{k: s[k] for k in ("title", "page", "query")} for s in slides]}
    return json.dumps(document, separators=(",", ":")) if compact else json.dumps(document, indent=1)


def _refuse_constant(name: str):
    raise DeckError("it holds a number JSON does not have")


def read_deck(data: bytes | str, known_pages) -> list[dict[str, str]]:
    """The slides of a deck file, or DeckError with one line naming the first problem."""
    if len(data) > MAX_FILE_BYTES:
        raise DeckError(f"The deck is larger than {MAX_FILE_BYTES // 1000} KB.")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text, parse_constant=_refuse_constant)
    except DeckError as reason:
        raise DeckError(f"The deck is not a deck file: {reason}.") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DeckError("The deck is not a deck file (JSON).") from None
    if not isinstance(document, dict) or set(document) != {"deck", "slides"} or document["deck"] != FORMAT:
        raise DeckError(f'The deck is not a deck file: it needs exactly "deck": {FORMAT} and "slides".')
    raw = document["slides"]
    if not isinstance(raw, list) or len(raw) > MAX_SLIDES:
        raise DeckError(f"The deck's slides must be a list of at most {MAX_SLIDES}.")
    slides = []
    for number, slide in enumerate(raw, start=1):
        if not isinstance(slide, dict) or set(slide) != {"title", "page", "query"}:
            raise DeckError(f'The deck\'s slide {number} needs exactly "title", "page" and "query".')
        try:
            slides.append(make_slide(slide["title"], slide["page"], slide["query"], known_pages))
        except DeckError as reason:
            raise DeckError(f"The deck's slide {number} was refused: {reason}.") from None
    return slides


def deck_link_text(slides: list[dict[str, str]]) -> str:
    """The deck as the value of ``?deck=``: compact JSON in base64url without padding."""
    return base64.urlsafe_b64encode(deck_json(slides, compact=True).encode()).decode().rstrip("=")


def read_deck_link(text: str, known_pages) -> list[dict[str, str]]:
    """The slides of a ``?deck=`` value, or DeckError."""
    if len(text) > MAX_LINK:
        raise DeckError(f"The link's deck is longer than {MAX_LINK:,} characters; share a deck file instead.")
    if not _BASE64URL.fullmatch(text):
        raise DeckError("The link's deck is not base64url text.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DeckError("The link's deck is not base64url text.") from None
    return read_deck(data, known_pages)


# ---------------------------------------------------------------------------------------------- the session's deck
def slides() -> list[dict[str, str]]:
    return st.session_state.setdefault(KEY, [])


def note_page(url_path: str) -> None:
    """Remember which page this run shows: "Add this view" saves its path (app.py calls this after navigation)."""
    st.session_state[CURRENT_PAGE] = url_path


def known_pages() -> set[str]:
    return set(pages.url_paths())


def current_slide(title: str) -> dict[str, str]:
    """The view on screen as a slide."""
    page = st.session_state.get(CURRENT_PAGE) or "samples"
    return {"title": title.strip()[:MAX_TITLE] or "Untitled", "page": page, "query": _current_query()}


def _current_query() -> str:
    values = {key: st.session_state.get(key, spec.default) for key, spec in state.URL_STATE.items()}
    return canonical_query(values)


def add_view() -> None:
    """Callback of "Add this view to the deck": the title comes from the text input beside it."""
    deck = slides()
    if len(deck) >= MAX_SLIDES:
        st.toast(f"A deck holds at most {MAX_SLIDES} slides: remove one first.", icon=":material/warning:")
        return
    title = st.session_state.get("deck_title", "") or f"Slide {len(deck) + 1}"
    st.session_state[KEY] = [*deck, current_slide(title)]
    st.session_state["deck_title"] = ""
    st.toast(f"Added slide {len(deck) + 1} to the deck.", icon=":material/slideshow:")


def move(index: int, step: int) -> None:
    deck = list(slides())
    other = index + step
    if 0 <= index < len(deck) and 0 <= other < len(deck):
        deck[index], deck[other] = deck[other], deck[index]
        st.session_state[KEY] = deck


def remove(index: int) -> None:
    st.session_state[KEY] = [slide for i, slide in enumerate(slides()) if i != index]


def rename(index: int, title: str) -> None:
    deck = [dict(slide) for slide in slides()]
    if 0 <= index < len(deck):
        deck[index]["title"] = title.strip()[:MAX_TITLE] or deck[index]["title"]
        st.session_state[KEY] = deck


def replace(new: list[dict[str, str]]) -> None:
    st.session_state[KEY] = new
    st.session_state[POSITION] = None


def open_slide(index: int, present: bool | None = None) -> None:
    """Callback: restore slide ``index``'s exact view (every URL setting, defaults for those it leaves out) and go to
    its page on this run's end (follow)."""
    deck = slides()
    if not 0 <= index < len(deck):
        return
    slide = deck[index]
    try:
        values = query_values(slide["query"])
    except DeckError:
        return  # slides are checked when they enter the deck; this is only a guard
    for key, spec in state.URL_STATE.items():
        if key not in NOT_A_VIEW:
            st.session_state[key] = values.get(key, spec.default)
    if present is not None:
        st.session_state["presentation"] = present
    st.session_state[POSITION] = index
    st.session_state["_deck_goto"] = slide["page"]


def step(offset: int) -> None:
    """Callback of the hidden stepping buttons: the next or previous slide, staying on the first or last."""
    deck = slides()
    if not deck:
        return
    position = st.session_state.get(POSITION)
    target = 0 if position is None else min(max(position + offset, 0), len(deck) - 1)
    if target != position:
        open_slide(target)


def follow() -> None:
    """Go to the page a callback chose (st.switch_page cannot be called inside a callback)."""
    target = st.session_state.pop("_deck_goto", None)
    paths = pages.url_paths()
    if target in paths:
        st.switch_page(pages.page(paths[target]))


def read_link() -> None:
    """On a session's first run, a ``?deck=`` in the link becomes the deck (sync_url then drops it from the URL)."""
    if st.session_state.get("_deck_link_read"):
        return
    st.session_state["_deck_link_read"] = True
    text = st.query_params.get(LINK_PARAM)
    if not text:
        return
    try:
        replace(read_deck_link(text, known_pages()))
    except DeckError as reason:
        state.add_url_notice(str(reason))


# ---------------------------------------------------------------------------------------------- widgets
def render_add() -> None:
    """The sidebar's "Add this view to the deck": a title and a button."""
    with st.popover(f"Add this view to the deck ({len(slides())})", icon=":material/slideshow:", width="stretch"):
        st.text_input("Slide title", key="deck_title", max_chars=MAX_TITLE, placeholder=f"Slide {len(slides()) + 1}")
        st.button("Add this view", key="deck_add", icon=":material/add:", type="primary", on_click=add_view)
        st.caption("The slide keeps this page and its link's settings. Open the Deck page to reorder and present.")


# Arrow keys step only when no field has the focus; the listener on the parent page is replaced by each new iframe,
# so one is active however often the page is drawn.
_KEYS_SCRIPT = """
<script>
const parentWindow = window.parent;
const actions = {ArrowRight: "deck_next", ArrowDown: "deck_next", PageDown: "deck_next",
                 ArrowLeft: "deck_prev", ArrowUp: "deck_prev", PageUp: "deck_prev"};
function onKey(event) {
  const target = event.target;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
  if (target && target.closest && target.closest("[role=slider]")) return;  // a focused slider keeps its keys
  const key = actions[event.key];
  const button = key && parentWindow.document.querySelector(".st-key-" + key + " button");
  if (!button) return;
  event.preventDefault();
  button.click();
}
if (parentWindow.__deckKeys) parentWindow.document.removeEventListener("keydown", parentWindow.__deckKeys);
parentWindow.__deckKeys = onKey;
parentWindow.document.addEventListener("keydown", onKey);
</script>
"""
_HIDDEN = """
<style>
  .st-key-deck_prev, .st-key-deck_next, .st-key-deck_keys,
  iframe[title="st.iframe"][height="0"] { display: none !important; }
</style>
"""


def render_stepper() -> None:
    """Presentation mode: the hidden previous/next buttons and the key listener that presses them."""
    deck = slides()
    if not deck:
        return
    st.markdown(_HIDDEN, unsafe_allow_html=True)
    st.button("Previous slide", key="deck_prev", on_click=step, args=(-1,))
    st.button("Next slide", key="deck_next", on_click=step, args=(1,))
    position = st.session_state.get(POSITION)
    if position is not None and 0 <= position < len(deck):
        st.caption(f"Slide {position + 1} of {len(deck)} · ← → to step")
    with st.container(key="deck_keys"):
        components.html(_KEYS_SCRIPT, height=0)
