"""AppTest of the "How a GAN learns" page. Its live fragment never ticks in AppTest, so the buttons drive it."""

import pytest
from streamlit.testing.v1 import AppTest


def page() -> None:
    """The page alone, as app.py runs it (state first), without the sidebar's checkpoint machinery."""
    from dashboard import state
    from dashboard.views import gan_game

    state.init_state()
    gan_game.render()


def run_page(**query) -> AppTest:
    at = AppTest.from_function(page, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def step_counter(at: AppTest) -> str:
    return next(metric.value for metric in at.metric if metric.label == "Step")


def test_page_renders_metrics_and_charts():
    at = run_page()
    assert not at.exception
    assert step_counter(at) == "0"
    assert len(at.get("plotly_chart")) == 5
    assert {m.label for m in at.metric} >= {
        "V(D, G)",
        "−log 4",
        "JSD exact",
        "JSD estimate",
        "mean D(x)",
        "mean D(G(z))",
    }
    assert not at.warning


def test_step_advances_and_reset_returns_to_zero():
    at = run_page()
    at.button(key="toy_step").click().run()
    at.button(key="toy_step").click().run()
    assert not at.exception and step_counter(at) == "2"
    at.button(key="toy_reset").click().run()
    assert step_counter(at) == "0"


def test_changing_the_preset_restarts_the_game():
    at = run_page()
    at.button(key="toy_step").click().run()
    assert step_counter(at) == "1"
    at.button_group(key="toy_preset").set_value("far apart").run()
    assert not at.exception and step_counter(at) == "0"
    assert at.session_state["toy_game"].config.preset == "far apart"


def test_play_and_pause_toggle_the_buttons():
    at = run_page()
    at.button(key="toy_play").click().run()
    assert at.session_state["toy_playing"] and at.button(key="toy_play").disabled
    at.button(key="toy_pause").click().run()
    assert not at.session_state["toy_playing"] and at.button(key="toy_pause").disabled
    assert not at.button(key="toy_play").disabled


def test_bad_link_values_fall_back_with_a_message():
    at = run_page(game_preset="nowhere", game_lrg="0.0021", game_k="99")
    assert not at.exception
    assert at.session_state["toy_preset"] == "two modes"
    assert at.session_state["toy_lr_g"] == pytest.approx(0.002)
    assert at.session_state["toy_k"] == 1  # out of the schema's bounds: the default, with the link notice
    assert len(at.warning) == 1 and "nowhere" not in at.warning[0].value
    assert "The link's game_k (" in at.session_state["_url_notice"]  # no sidebar here to show it as a toast


def test_presentation_keeps_the_game_controls_only():
    at = run_page(present="1", game_k="3")
    assert not at.exception
    assert [b.key for b in at.button] == ["toy_step", "toy_play", "toy_pause", "toy_reset"]
    assert not at.slider  # k and the learning rates are hidden ...
    assert at.session_state["toy_game"].config.d_steps == 3  # ... but still set the game


@pytest.mark.slow
def test_far_apart_names_the_abandoned_mode():
    at = run_page(game_preset="far apart")
    at.session_state["toy_game"].step(300)  # what ~10 s of play does; the toy GAN is deterministic per seed
    at.run()
    notes = [m.value for m in at.markdown if "Mode collapse" in m.value]
    assert len(notes) == 1 and ("x = 6" in notes[0] or "x = -6" in notes[0])


def metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def test_optimal_d_makes_the_estimate_meet_the_exact_jsd_and_says_so():
    at = run_page()
    for _ in range(3):
        at.button(key="toy_step").click().run()
    assert "loose" in " ".join(c.value for c in at.caption)  # the trained D: a loose lower bound, said on the page
    at.toggle(key="toy_optimal_d").set_value(True).run()
    assert not at.exception and step_counter(at) == "0"  # a game-defining setting: restarted
    assert at.session_state["toy_game"].config.optimal_d
    assert at.slider(key="toy_k").disabled  # k and D's learning rate do not apply to D*
    for _ in range(3):
        at.button(key="toy_step").click().run()
    assert metric(at, "JSD estimate") == pytest.approx(metric(at, "JSD exact"), abs=0.0015)  # shown to 3 decimals
    assert any("the two lines are one" in c.value for c in at.caption)
    assert at.session_state["toy_optimal_d"] is True  # in URL_STATE as game_dstar (see the presentation test)


def test_presentation_keeps_the_optimal_d_switch():
    at = run_page(present="1", game_dstar="1")
    assert not at.exception
    assert at.toggle(key="toy_optimal_d").value is True
    assert at.session_state["toy_game"].config.optimal_d


def test_a_negative_jsd_estimate_reads_zero():
    """At step 0 a random D puts V below −log 4, so the bound (log 4 + V) / 2 is negative: the metric reads 0.000."""
    at = run_page(game_preset="one Gaussian")
    estimate = next(metric for metric in at.metric if metric.label == "JSD estimate")
    assert estimate.value == "0.000" and "lower bound" in estimate.proto.help


def test_while_playing_the_charts_are_svg_drawn_in_place_and_plotly_when_paused():
    """Streamlit re-creates a plotly chart whose figure changes, which blanked the live charts in the browser
    (tests/test_browser_game.py): while playing they are inline SVG, paused they are plotly again."""
    at = run_page()
    at.session_state["toy_playing"] = True
    at.run()
    assert not at.exception
    live = [m.value for m in at.markdown if m.value.startswith('<svg class="live-chart"')]
    assert len(live) == 5 and len(at.get("plotly_chart")) == 0
    at.button(key="toy_pause").click().run()
    assert len(at.get("plotly_chart")) == 5
    assert not [m for m in at.markdown if m.value.startswith("<svg")]
