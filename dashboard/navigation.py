"""The app's pages, defined once: app.py navigates with them, and registers them by name in pages.py, where
views and panels find the pages they link to (st.switch_page, st.page_link)."""

from __future__ import annotations

import streamlit as st

from dashboard import pages
from dashboard.views import arithmetic, gan_game, interpolate, latent_map, samples, training

PAGES = {
    "samples": st.Page(samples.render, title="Samples", icon=":material/grid_view:", url_path="samples", default=True),
    "interpolate": st.Page(interpolate.render, title="Interpolate", icon=":material/timeline:", url_path="interpolate"),
    "arithmetic": st.Page(arithmetic.render, title="Arithmetic", icon=":material/calculate:", url_path="arithmetic"),
    "map": st.Page(latent_map.render, title="Latent map", icon=":material/scatter_plot:", url_path="map"),
    "training": st.Page(training.render, title="Training", icon=":material/monitoring:", url_path="training"),
    "game": st.Page(gan_game.render, title="How a GAN learns", icon=":material/school:", url_path="game"),
}


def all_pages() -> list[st.Page]:
    """The pages for st.navigation, first registered by name for the links between them."""
    pages.register(PAGES)
    return list(PAGES.values())
