"""Deck: the slides of a talk, each a saved view. Reorder, rename, remove, present; save and load the deck as a JSON
file or a link; export it as one offline HTML file (dashboard/offline_deck.py) for when the server or network fails."""

from __future__ import annotations

import functools
import math
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from dashboard import deck, services, state
from dashboard.offline_deck import OfflineSlide, deck_html
from dashboard.text import plain

PICTURE_TILE_PIXELS = 128  # the offline file's tiles: as large as the live page's, small enough for a file of 40


def render() -> None:
    st.header("Deck")
    slides = deck.slides()
    error = st.session_state.pop("_deck_error", "")
    if error:
        st.error(error, icon=":material/error:")
    if not slides:
        st.info(
            'The deck is empty. On any page, open "Add this view to the deck" in the sidebar, give it a title and add it.'
        )
    else:
        st.button(
            "Present the deck",
            key="deck_present",
            type="primary",
            icon=":material/slideshow:",
            on_click=deck.open_slide,
            args=(0, True),
            help="Presentation mode from slide 1: the arrow keys or Page Up / Page Down step through the slides.",
        )
        for index, slide in enumerate(slides):
            _slide_row(index, slide, len(slides))
    st.divider()
    _save_and_load(slides)


def _slide_row(index: int, slide: dict, count: int) -> None:
    with st.container(border=True, key=f"deck_slide_{index}"):
        title, where, buttons = st.columns([5, 4, 4], vertical_alignment="center")
        title.text_input(
            f"Slide {index + 1}",
            value=slide["title"],
            key=f"deck_rename_{index}_{slide['title']}",
            max_chars=deck.MAX_TITLE,
            on_change=_rename,
            args=(index, f"deck_rename_{index}_{slide['title']}"),
        )
        where.caption(plain(f"/{slide['page']}" + (f"?{slide['query']}" if slide["query"] else ""))[:300])
        up, down, show, gone = buttons.columns(4)
        up.button(
            "",
            key=f"deck_up_{index}",
            icon=":material/arrow_upward:",
            help="Move up",
            disabled=index == 0,
            on_click=deck.move,
            args=(index, -1),
        )
        down.button(
            "",
            key=f"deck_down_{index}",
            icon=":material/arrow_downward:",
            help="Move down",
            disabled=index == count - 1,
            on_click=deck.move,
            args=(index, 1),
        )
        show.button(
            "",
            key=f"deck_open_{index}",
            icon=":material/open_in_new:",
            help="Open this view",
            on_click=deck.open_slide,
            args=(index,),
        )
        gone.button(
            "", key=f"deck_remove_{index}", icon=":material/delete:", help="Remove", on_click=deck.remove, args=(index,)
        )


def _rename(index: int, key: str) -> None:
    deck.rename(index, st.session_state.get(key, ""))


def _save_and_load(slides: list[dict]) -> None:
    save, load = st.columns(2, gap="large")
    with save:
        st.subheader("Save")
        st.download_button(
            "Download the deck (JSON)",
            data=deck.deck_json(slides),
            file_name="deck.json",
            mime="application/json",
            key="deck_download",
            icon=":material/download:",
            disabled=not slides,
        )
        st.download_button(
            "Export for offline (HTML)",
            data=functools.partial(
                _offline_file, _app_address(), tuple((s["title"], s["page"], s["query"]) for s in slides)
            ),
            file_name="deck.html",
            mime="text/html",
            key="deck_export",
            icon=":material/wifi_off:",
            disabled=not slides,
            help="One file with every slide's picture inside and arrow-key navigation: opens with no server.",
        )
        if slides:
            link = deck.deck_link_text(slides)
            if len(link) <= deck.MAX_LINK:
                base = (st.context.url or "").split("?", 1)[0]
                st.caption("The deck as a link:")
                st.code(f"{base}?{urlencode({deck.LINK_PARAM: link})}", language=None, wrap_lines=True)
            else:
                st.caption("This deck is too long for a link: share the JSON file.")
    with load:
        st.subheader("Load")
        upload = st.file_uploader(
            f"Open a deck file (.json, up to {deck.MAX_FILE_BYTES // 1000} KB); it replaces this deck",
            type=["json"],
            key=f"deck_upload_{st.session_state.get('_deck_upload_round', 0)}",
        )
        if upload is not None:
            try:
                deck.replace(deck.read_deck(upload.getvalue(), deck.known_pages()))
            except deck.DeckError as error:
                st.session_state["_deck_error"] = f"{plain(upload.name)[:80]}: {error}"
            else:
                st.toast(f"Loaded {len(deck.slides())} slides.", icon=":material/slideshow:")
            st.session_state["_deck_upload_round"] = st.session_state.get("_deck_upload_round", 0) + 1
            st.rerun()


# ---------------------------------------------------------------------------------------------- offline pictures
def _app_address() -> str:
    """The app's address without the page ("http://host:8501"), read while the page draws: the slides' links in the
    offline file point back at it."""
    return (st.context.url or "").split("?", 1)[0].rsplit("/", 1)[0]


def _offline_file(base: str, slides: tuple[tuple[str, str, str], ...]) -> str:
    offline = []
    for title, page, query in slides:
        link = f"{base}/{page}" + (f"?{query}" if query else "")
        offline.append(OfflineSlide(title, link, slide_picture(page, query)))
    return deck_html("GAN Latent Explorer: deck", offline)


def slide_picture(page: str, query: str) -> bytes | None:
    """The slide's key picture as PNG, drawn from its settings as its page draws it; None where the picture is a
    chart (the map, the game, training) or cannot be drawn, which the offline file shows as a card with the link."""
    try:
        values = deck.query_values(query)
    except deck.DeckError:
        return None
    setting = {key: values.get(key, spec.default) for key, spec in state.URL_STATE.items()}
    path = setting["checkpoint"]
    if not path or not services.is_listed(path):
        listed = services.list_checkpoints()
        path = listed[0].id if listed else ""
    if not path:
        return None
    try:
        return _picture(page, path, setting)
    except (services.CheckpointError, ValueError, KeyError, IndexError):
        return None


def _picture(page: str, path: str, setting: dict) -> bytes | None:
    image_size = services.explorer(path).image_size
    scale = max(1, PICTURE_TILE_PIXELS // image_size)
    if page == "samples":
        n, seed = setting["grid_size"], setting["seed"]
        images = services.samples(path, tuple(range(seed, seed + n)), setting["truncation"]).images
        return services.grid_png(images, 8 if n <= 64 else int(math.ceil(math.sqrt(n))), scale)
    if page == "interpolate":
        codes = tuple(setting["projected"])
        points = [code_or_seed(item, codes) for item in setting["endpoints"]]
        points = [point for point in points if point is not None] or list(setting["pins"])[:2] or [0, 1]
        if len(points) < 2:
            return None
        return services.strip_png(path, tuple(points), setting["frames"], "slerp", min(setting["frames"], 8), scale)
    if page == "arithmetic" and setting["arithmetic_mode"] == "Directions":
        return _direction_picture(path, setting, scale)
    if page == "arithmetic" and setting["arithmetic_mode"] == "Components":
        start = setting["edit_seed"]
        faces = services.component_edit(
            path, setting["component"], tuple(range(start, start + 8)), (0.0, float(setting["component_strength"]))
        )
        rows = np.concatenate([faces[:, 0], faces[:, 1]])  # before, then after
        return services.grid_png(rows, 8, scale)
    return None


def code_or_seed(item, codes: tuple[str, ...]):
    index = state.projected_index(item)
    if index is None:
        return item
    return codes[index] if index < len(codes) else None


def _direction_picture(path: str, setting: dict, scale: int) -> bytes | None:
    """The Directions mode's before and after rows, chosen as views/attribute_edits.py chooses them."""
    attributes = services.binary_attributes(path)
    method = setting["direction_method"]
    if not attributes or method == "exemplar3":  # the exemplar mode's faces are the speaker's pins: a card
        return None
    attribute = setting["direction"] if setting["direction"] in attributes else attributes[0]
    if setting["direction"] not in attributes and "sunglasses" in attributes:
        attribute = "sunglasses"
    strength, conditional = float(setting["strength"]), bool(setting["conditional"])
    concept = ("-" if strength >= 0 else "+") + attribute
    seeds = services.exemplar_seeds(path, (concept,), 8, setting["edit_seed"])
    if not seeds:
        return None
    if setting["per_face"]:
        faces = services.per_face_edit(path, attribute, method, conditional, seeds, strength >= 0)[0]
    else:
        faces = services.attribute_edit(path, attribute, method, conditional, seeds, (0.0, strength))
    return services.grid_png(np.concatenate([faces[:, 0], faces[:, 1]]), len(seeds), scale)
