"""The app's pages, declared once: app.py navigates with them, and registers them by name in pages.py, where
views and panels find the pages they link to (st.switch_page, st.page_link).

The st.Page objects are built anew on every script run, never shared between sessions: st.navigation marks the
page it returns as the one that may run, and page.run() clears that mark, so one object shared by two sessions
running the same page at once let one session's run clear the other's mark ("This page cannot be called directly").
A page is identified by its url_path alone, so pages built by two runs are the same page to Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import streamlit as st

from dashboard import pages
from dashboard.views import arithmetic, deck, gan_game, interpolate, latent_map, samples, training, your_image


class PageSpec(NamedTuple):
    render: Callable[[], None]
    title: str
    icon: str
    url_path: str


# name -> how to build the page; plain, immutable data that every session may share
PAGE_SPECS: dict[str, PageSpec] = {
    "samples": PageSpec(samples.render, "Samples", ":material/grid_view:", "samples"),
    "yours": PageSpec(your_image.render, "Your image", ":material/portrait:", "your-image"),
    "interpolate": PageSpec(interpolate.render, "Interpolate", ":material/timeline:", "interpolate"),
    "arithmetic": PageSpec(arithmetic.render, "Arithmetic", ":material/calculate:", "arithmetic"),
    "map": PageSpec(latent_map.render, "Latent map", ":material/scatter_plot:", "map"),
    "training": PageSpec(training.render, "Training", ":material/monitoring:", "training"),
    "game": PageSpec(gan_game.render, "How a GAN learns", ":material/school:", "game"),
    "deck": PageSpec(deck.render, "Deck", ":material/slideshow:", "deck"),
}
ROOT_PATH = "start"


def _open_samples() -> None:
    """The root URL opens the Samples page at its own path, with the link's query string. st.navigation serves its
    default page at / only (/samples would answer "Page not found"), so the default is this hidden redirect and every
    page, Samples included, has one URL that a shared link can name."""
    st.switch_page(pages.page("samples"), query_params=st.query_params.to_dict())


def build_pages() -> dict[str, st.Page]:
    """Fresh page objects for this script run, by name."""
    return {
        name: st.Page(spec.render, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        for name, spec in PAGE_SPECS.items()
    }


def all_pages() -> list[st.Page]:
    """The pages for this run's st.navigation, first registered by name (for this session) for the links between
    them."""
    built = build_pages()
    pages.register(built)
    root = st.Page(_open_samples, title="GAN Latent Explorer", url_path=ROOT_PATH, default=True, visibility="hidden")
    return [*built.values(), root]
