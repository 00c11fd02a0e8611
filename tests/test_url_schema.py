"""The URL schema (dashboard.state.URL_STATE): every parameter, fed hostile text, gives a bounded value or one
ValueError, never another exception; and a link full of hostile values renders every page."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dashboard.state import MAX_CODE_TEXT, MAX_PROJECTED, MAX_SEEDS_IN_A_LIST, MAX_TEXT, URL_STATE

HOSTILE_TEXT = [
    "",
    " ",
    "x",
    "x" * 10_000,
    "nan",
    "inf",
    "-inf",
    "-1",
    "1e400",
    "99999999999999999999",
    "0x10",
    "1,2,-3",
    ",".join(["7"] * 5000),
    "\x00",
    "../../etc/passwd",
    "![x](http://example.com/a.png)",
    "true",
    "1.5",
    "٣",  # an Arabic-Indic digit: isdigit() says yes, int() agrees
    "z1.AAAA",  # shaped like a latent code (the sidebar decodes codes for the open model)
    "z1." + "A" * 20_000,
    ",".join(["z1.AAAA"] * 20),
    "img1,img9,img0,imgx",  # your images among endpoints: img1 to img8
    "img3,img1,42",
]


@pytest.mark.parametrize("key", list(URL_STATE))
def test_every_parameter_parses_hostile_text_to_a_bounded_value_or_one_error(key):
    spec = URL_STATE[key]
    for text in HOSTILE_TEXT:
        try:
            value = spec.parse(text)
        except ValueError as reason:
            assert str(reason) and "\n" not in str(reason)
            continue
        assert type(value) is type(spec.default), (key, text, value)  # noqa: E721 (bool is not an int here)
        if isinstance(value, float):
            assert math.isfinite(value)
        if isinstance(value, list):  # seeds, your images among endpoints ("img1"), or latent codes
            assert len(value) <= MAX_SEEDS_IN_A_LIST
            assert all(0 <= item < 2**31 if isinstance(item, int) else len(item) <= MAX_CODE_TEXT for item in value)
            assert sum(isinstance(item, str) for item in value) <= MAX_PROJECTED
        if isinstance(value, str):
            assert len(value) <= MAX_TEXT and value.isprintable()
        assert spec.parse(spec.format(value)) == value  # what the app writes back, it reads back


def test_defaults_round_trip():
    for key, spec in URL_STATE.items():
        assert spec.parse(spec.format(spec.default)) == spec.default or spec.default in ("", []), key


@pytest.mark.parametrize(
    "view", ["samples", "your_image", "interpolate", "arithmetic", "latent_map", "training", "gan_game"]
)
def test_a_link_of_hostile_values_renders_every_page(view, tmp_path, monkeypatch, tiny_checkpoint):
    from app_support import isolate_app, run_view

    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    query = {
        spec.param: "x" * 200 if i % 3 == 0 else ("nan" if i % 3 == 1 else "-99999999999999999999")
        for i, spec in enumerate(URL_STATE.values())
    }
    at = run_view(view, **query)
    assert not at.exception
    assert at.session_state["checkpoint"] == "bundled/tiny"


APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
TOONFACES = Path(__file__).resolve().parent.parent / "checkpoints" / "toonfaces32.safetensors"


def open_link(page: str, **query):
    """A visitor following a link to ``page`` (a module of dashboard.views): Samples through the whole app (app.py,
    the root redirect included), other pages as app.py runs them (app_support.run_view; AppTest cannot switch to a
    page that is a callable)."""
    from app_support import run_view
    from streamlit.testing.v1 import AppTest

    if page != "samples":
        return run_view(page, timeout=120, **query)
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize(
    "page, query, named",
    [
        ("samples", {"info": "<script>"}, "info"),  # a caption this page does not offer
        ("latent_map", {"space": "../../etc"}, "space"),  # a feature space this model does not have
        ("latent_map", {"color": "attribute:nope"}, "color"),
        ("samples", {"hair": "purple"}, "hair"),  # a parameter no page reads
    ],
)
def test_a_link_parameter_the_page_cannot_use_is_named_in_one_notice(
    tmp_path, monkeypatch, tiny_checkpoint, page, query, named
):
    """Issue 20 K: unknown names fell back to defaults silently; the README promises one notice naming the
    parameter."""
    from app_support import isolate_app

    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    at = open_link(page, **query)
    assert not at.exception
    [toast] = [t.value for t in at.toast]
    assert f"The link's {named} " in toast and "\n" not in toast
    assert query[named] not in str(at.query_params.get(named))  # the page's own value replaces it in the address


@pytest.mark.slow
def test_an_attribute_the_model_lacks_is_named_in_the_notice(tmp_path, monkeypatch):
    """Issue 20 K: dir=hair=purple on the Directions page (a model with labelled attributes)."""
    from app_support import isolate_app

    isolate_app(tmp_path, monkeypatch, TOONFACES)
    at = open_link("arithmetic", mode="Directions", dir="hair=purple")
    assert not at.exception
    [toast] = [t.value for t in at.toast]
    assert "The link's dir names nothing this page offers" in toast


def test_every_ignored_part_of_a_link_is_in_the_same_one_notice(tmp_path, monkeypatch, tiny_checkpoint):
    from app_support import isolate_app

    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    hostile_name = "![x](http://example.com/x.png)" + "y" * 100
    at = open_link("samples", n="7", info="nope", ckpt="bundled/nothing", **{hostile_name: "1", "zz": "2"})
    assert not at.exception
    [toast] = [t.value for t in at.toast]
    for part in ("n (not one of", "zz (not a setting", "checkpoint is not one", "info names nothing"):
        assert part in toast, toast
    assert "![x](http" not in toast and "\\!\\[x\\]\\(http\\:" in toast  # a name from the link shows as text
    assert "y" * 40 not in toast  # and cut short


def test_usable_names_and_names_for_another_page_give_no_notice(tmp_path, monkeypatch, tiny_checkpoint):
    """A value the page can use is kept; one for a page not open (a map setting on Samples) waits for that page."""
    from app_support import isolate_app

    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    at = open_link("samples", info="D score", space="../../etc")
    assert not at.exception and not at.toast
    assert at.session_state["tile_info"] == "D score"
