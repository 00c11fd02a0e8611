"""GAN Latent Explorer: ``streamlit run dashboard/app.py``.

The entry point only sets up the page, the shared sidebar and the navigation; each page is one file in
views/ exposing ``render()``, listed once in navigation.py. State lives in dashboard/state.py (mirrored in the URL),
caching and every call into ganlib in services.py. Imports point one way, from here down
(tests/test_architecture.py): app -> navigation -> views, and app -> sidebar -> training_panel; below them
run_widgets (what the panel and the Training page share), then state, pages and services. Only services reaches
ganlib (the training form also reads the plain declarations of ganlib.config).

The pages and the sidebar import torch and the model code, seconds on a server's first run: the page's frame and
title are drawn before those imports, so that a visitor never looks at a blank page while they load.
"""

from __future__ import annotations

from pathlib import Path

import PIL.JpegImagePlugin  # noqa: F401  (codecs PIL registers on first use: imported once, here)
import PIL.PngImagePlugin  # noqa: F401
import streamlit as st

# the repo is installed with `pip install -e .` (requirements.txt); these import neither torch nor ganlib
from dashboard import deck, first_run, state

# A local file, served by the app itself: a ":material/...:" icon made the browser fetch the tab icon from a font CDN,
# which fails offline.
ICON = Path(__file__).parent / "assets" / "icon.png"
TITLE = "GAN Latent Explorer"


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=str(ICON), layout="wide")
    frame = None if first_run.pages_imported() else _frame()
    from dashboard import navigation, sidebar  # torch and the model code: seconds, once per server

    first_run.note_pages_imported()
    if frame is not None:
        frame.empty()
    state.init_state()
    page = st.navigation(navigation.all_pages(), position="hidden" if st.session_state["presentation"] else "sidebar")
    deck.note_page(page.url_path)  # "Add this view to the deck" saves this page's path
    with first_run.one_at_a_time():  # until the libraries pages import late are in, sessions take turns
        sidebar.render()
        link_values = state.link_values_in_use()
        page.run()
        state.note_replaced_link_values(link_values)  # a name from the link that the page could not use
        state.show_url_notice()  # everything the link held that was ignored, in one line, once the page judged it
        state.sync_url()


def _frame():
    """The app's title and a line saying what it waits for, in a placeholder the page replaces."""
    frame = st.empty()
    with frame.container():
        st.title(TITLE)
        st.caption("Starting: loading the model and its libraries (a few seconds, once per server)...")
    return frame


main()
