"""The sidebar's "Copy link to this view" popover says where the copy icon is: Streamlit shows it only while the
pointer is over the link, so "Click the copy icon" sent people looking for an icon that was not there."""

from __future__ import annotations

from app_support import isolate_app, run_view


def test_the_popover_says_the_copy_icon_appears_on_pointing(tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    at = run_view("gan_game")
    assert not at.exception
    said = [caption.value for caption in at.sidebar.caption if "The link reproduces" in caption.value]
    assert len(said) == 1 and "Point at the link" in said[0] and "appears" in said[0], said
