"""AppTest of the Interpolate page: both strips, the norm chart, endpoints from pins, frame bounds, URL state."""

import pytest
from app_support import isolate_app, run_view


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    return isolate_app(tmp_path, monkeypatch, tiny_checkpoint)


def run_page(pins=None, **query):
    return run_view("interpolate", session_state={"pins": pins} if pins is not None else None, **query)


def strip_headers(at):
    return [header.value for header in at.main.subheader]


def test_both_strips_and_the_norm_chart_render(app_env):
    at = run_page()
    assert not at.exception
    assert at.session_state["endpoints"] == [0, 1]  # no pins: the page is never empty
    assert any("Lerp" in h for h in strip_headers(at)) and any("Slerp" in h for h in strip_headers(at))
    assert len(at.main.get("image")) == 6  # a strip and an animation per method, and one frame of each
    assert len(at.main.get("plotly_chart")) == 1
    assert any("White 2016" in c.value for c in at.main.caption)
    assert any("--seeds 0 1 --frames 16" in code.value for code in at.main.code)
    assert len(at.main.get("download_button")) == 4


def test_endpoints_default_to_the_first_pins(app_env):
    at = run_page(pins=[7, 3, 12])
    assert not at.exception
    assert at.session_state["endpoints"] == [7, 3]
    assert any("Endpoints from your first two pins: #7 → #3." in c.value for c in at.main.caption)
    assert at.multiselect(key="endpoints").options == ["#7", "#3", "#12"]
    at.multiselect(key="endpoints").select(12).run()
    assert not at.exception
    assert at.session_state["endpoints"] == [7, 3, 12]
    assert any("7 → 3 → 12" in c.value for c in at.main.caption)
    assert not any("from your first two pins" in c.value for c in at.main.caption)  # the user's choice now


def test_typed_seeds_are_added_and_bad_text_is_refused(app_env):
    at = run_page()
    at.text_input(key="_typed_endpoints").input("42, 5").run()
    assert at.session_state["endpoints"] == [0, 1, 42, 5]
    at.text_input(key="_typed_endpoints").input("seven").run()
    assert not at.exception
    assert at.session_state["endpoints"] == [0, 1, 42, 5]
    assert at.main.error and "whole numbers" in at.main.error[0].value


def test_one_endpoint_asks_for_another(app_env):
    at = run_page()
    at.multiselect(key="endpoints").unselect(1).run()
    assert not at.exception
    assert at.main.warning and "at least two" in at.main.warning[0].value
    assert not at.main.get("plotly_chart")


def test_frames_are_bounded_and_in_the_url(app_env):
    at = run_page(ends="4,9", frames="1000")
    assert not at.exception
    assert at.session_state["endpoints"] == [4, 9] and at.session_state["frames"] == 16  # out of bounds: default
    at.slider(key="frames").set_value(5).run()
    assert not at.exception
    assert at.query_params["frames"] in ("5", ["5"])
    assert at.query_params["ends"] in ("4,9", ["4,9"])
    at = run_page(frames="-3")
    assert at.session_state["frames"] == 16 and not at.exception


def test_presentation_hides_controls(app_env):
    at = run_page(present="1")
    assert not at.exception
    assert not at.main.get("multiselect") and not at.main.get("download_button")
    assert len(at.main.get("image")) == 6


def test_compare_frame_shows_both_walks_at_the_same_frame(app_env):
    at = run_page(frames="9")
    assert at.session_state["_compare_frame"] == 5  # the midpoint, where lerp dips most
    at.slider(key="_compare_frame").set_value(9).run()
    captions = [image.caption for element in at.main.get("image") for image in element.proto.imgs]
    assert any(c.startswith("lerp, frame 9") for c in captions) and any(
        c.startswith("slerp, frame 9") for c in captions
    )


def test_bad_seeds_in_the_url_fall_back_to_the_default_with_a_notice(app_env):
    at = run_page(ends="-5,3")
    assert not at.exception
    assert -5 not in at.session_state["endpoints"] and len(at.session_state["endpoints"]) >= 2
    assert any("The link's ends (" in t.value for t in at.toast)


def test_compare_frame_survives_a_change_of_frames(app_env):
    at = run_page(frames="16")
    at.slider(key="_compare_frame").set_value(3).run()
    at.slider(key="frames").set_value(24).run()
    assert at.session_state["_compare_frame"] == 3
    at.slider(key="frames").set_value(2).run()
    assert at.session_state["_compare_frame"] == 1 and not at.exception
