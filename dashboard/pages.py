"""Pages by name, for the links between them (st.switch_page, st.page_link).

navigation.py builds the pages from the views and registers them here on every run; a view or panel that links to
a page asks for it by name. No view imports navigation (which imports every view), so the imports form a tree
from app.py down.
"""

from __future__ import annotations

import streamlit as st

_registered: dict[str, st.Page] = {}


def register(pages: dict[str, st.Page]) -> None:
    _registered.update(pages)


def page(name: str) -> st.Page:
    """The page called ``name`` ("samples", "training", ...), as navigation.py registered it."""
    return _registered[name]
