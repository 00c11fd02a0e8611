"""Pages by name, for the links between them (st.switch_page, st.page_link).

navigation.py builds the pages from the views and registers them here on every run; a view or panel that links to
a page asks for it by name. No view imports navigation (which imports every view), so the imports form a tree
from app.py down. The registry lives in the session's state, not in this module: page objects carry per-run marks
(see navigation.py), and a process-wide registry would hand one session the objects another session's run built.
"""

from __future__ import annotations

import streamlit as st

_KEY = "_pages"


def register(pages: dict[str, st.Page]) -> None:
    st.session_state[_KEY] = dict(pages)


def page(name: str) -> st.Page:
    """The page called ``name`` ("samples", "training", ...), as navigation.py registered it for this session."""
    return st.session_state[_KEY][name]


def url_paths() -> dict[str, str]:
    """Each registered page's URL path ("your-image") -> its name ("yours"): a saved link names pages by path."""
    return {page.url_path: name for name, page in st.session_state.get(_KEY, {}).items()}
