"""The app's pages, defined once: app.py navigates with them, and registers them by name in pages.py, where
views and panels find the pages they link to (st.switch_page, st.page_link)."""

from __future__ import annotations

import streamlit as st

from dashboard import pages
from dashboard.views import arithmetic, gan_game, interpolate, latent_map, samples, training, your_image

PAGES = {
    "samples": st.Page(samples.render, title="Samples", icon=":material/grid_view:", url_path="samples"),
    "yours": st.Page(your_image.render, title="Your image", icon=":material/portrait:", url_path="your-image"),
    "interpolate": st.Page(interpolate.render, title="Interpolate", icon=":material/timeline:", url_path="interpolate"),
    "arithmetic": st.Page(arithmetic.render, title="Arithmetic", icon=":material/calculate:", url_path="arithmetic"),
    "map": st.Page(latent_map.render, title="Latent map", icon=":material/scatter_plot:", url_path="map"),
    "training": st.Page(training.render, title="Training", icon=":material/monitoring:", url_path="training"),
    "game": st.Page(gan_game.render, title="How a GAN learns", icon=":material/school:", url_path="game"),
}


def _open_samples() -> None:
    """The root URL opens the Samples page at its own path, with the link's query string. st.navigation serves its
    default page at / only (/samples would answer "Page not found"), so the default is this hidden redirect and every
    page, Samples included, has one URL that a shared link can name."""
    st.switch_page(PAGES["samples"], query_params=st.query_params.to_dict())


ROOT = st.Page(_open_samples, title="GAN Latent Explorer", url_path="start", default=True, visibility="hidden")


def all_pages() -> list[st.Page]:
    """The pages for st.navigation, first registered by name for the links between them."""
    pages.register(PAGES)
    return [*PAGES.values(), ROOT]
