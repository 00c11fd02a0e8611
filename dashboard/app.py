"""GAN Latent Explorer: ``streamlit run dashboard/app.py``.

The entry point only sets up the page, the shared sidebar and the navigation; each page is one file in
views/ exposing ``render()``. State lives in dashboard/state.py (mirrored in the URL), caching in services.py.
"""
from __future__ import annotations

import streamlit as st

from dashboard import sidebar, state  # the repo is installed with `pip install -e .` (requirements.txt)
from dashboard.views import arithmetic, gan_game, interpolate, latent_map, samples, training

PAGES = [
    st.Page(samples.render, title="Samples", icon=":material/grid_view:", url_path="samples", default=True),
    st.Page(interpolate.render, title="Interpolate", icon=":material/timeline:", url_path="interpolate"),
    st.Page(arithmetic.render, title="Arithmetic", icon=":material/calculate:", url_path="arithmetic"),
    st.Page(latent_map.render, title="Latent map", icon=":material/scatter_plot:", url_path="map"),
    st.Page(training.render, title="Training", icon=":material/monitoring:", url_path="training"),
    st.Page(gan_game.render, title="How a GAN learns", icon=":material/school:", url_path="game"),
]


def main() -> None:
    st.set_page_config(page_title="GAN Latent Explorer", page_icon=":material/explore:", layout="wide")
    state.init_state()
    page = st.navigation(PAGES, position="hidden" if st.session_state["presentation"] else "sidebar")
    sidebar.render()
    page.run()
    state.sync_url()


main()
