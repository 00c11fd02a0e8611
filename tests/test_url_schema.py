"""The URL schema (dashboard.state.URL_STATE): every parameter, fed hostile text, gives a bounded value or one
ValueError, never another exception; and a link full of hostile values renders every page."""

from __future__ import annotations

import math

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
