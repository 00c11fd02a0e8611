"""Shared AppTest helpers: an isolated checkpoints/runs folder, and running one page the way app.py does.

AppTest.switch_page cannot open pages that are callables (ours are, see dashboard/navigation.py), so a page is
run through AppTest.from_function with the same steps as app.main(): state, pages registered for links, sidebar,
page, URL sync.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest


def isolate_app(tmp_path: Path, monkeypatch, checkpoint: Path) -> Path:
    """A checkpoints folder holding only ``checkpoint``, and an empty runs folder, for the app under test."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / checkpoint.name).write_bytes(checkpoint.read_bytes())
    monkeypatch.setenv("GANLIB_CHECKPOINTS", str(checkpoints))
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "runs"))
    return checkpoints


def _page_script(view: str, with_sidebar: bool) -> None:
    import importlib

    import streamlit as st

    from dashboard import navigation, sidebar, state

    st.set_page_config(layout="wide")
    state.init_state()
    navigation.all_pages()
    if with_sidebar:
        sidebar.render()
    link_values = state.link_values_in_use()
    importlib.import_module(f"dashboard.views.{view}").render()
    state.note_replaced_link_values(link_values)
    if with_sidebar:
        state.show_url_notice()
    state.sync_url()


def run_view(
    view: str, *, timeout: float = 60, with_sidebar: bool = True, session_state: dict | None = None, **query
) -> AppTest:
    """Run page ``view`` (a module of dashboard.views) with the given query parameters and session state."""
    at = AppTest.from_function(_page_script, default_timeout=timeout, args=(view, with_sidebar))
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in (session_state or {}).items():
        at.session_state[key] = value
    return at.run()
