"""AppTest of the Arithmetic page's Components mode: SeFa and GANSpace directions with a strength slider, measured
against a random direction; on a checkpoint without a classifier (the tiny one, digits32) and on toonfaces64."""

from pathlib import Path

import pytest
from app_support import isolate_app, run_view

ROOT = Path(__file__).resolve().parent.parent


def run_page(pins=None, timeout=60, **query):
    return run_view("arithmetic", timeout=timeout, session_state={"pins": pins} if pins is not None else None, **query)


def texts(elements) -> str:
    return " ".join(element.value for element in elements)


def metrics(at) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.proto.delta) for metric in at.main.metric}


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)  # data set "random": no classifier


def test_components_move_the_seed_row_and_the_pins_without_a_classifier(app_env):
    at = run_page(pins=[3, 4], mode="Components")
    assert not at.exception
    options = at.radio(key="component").options
    assert len(options) == 10 and options[0].startswith("PC1 · unnamed · ") and options[0].endswith("× random")
    assert any(option.startswith("SeFa 1 ·") for option in options)
    assert len(at.main.get("image")) == 2  # before above after: the seed row, then the pins
    assert "this model has no attribute classifier" in texts(at.main.caption)
    measured = metrics(at)
    assert set(measured) == {"pixels changed (of 255)", "D's features moved"}  # no classifier: no attribute figure
    assert measured["pixels changed (of 255)"][1].startswith("random direction: ")
    at.slider(key="component_strength").set_value(-1.5).run()
    at.radio(key="component").set_value("sefa2").run()
    assert not at.exception
    assert at.query_params["cstrength"] in ("-1.5", ["-1.5"]) and at.query_params["comp"] in ("sefa2", ["sefa2"])
    assert "bottom: after -1.5 along SeFa 2" in texts(at.main.markdown)


def test_a_link_reproduces_the_component_and_strength_and_bad_values_fall_back(app_env):
    at = run_page(mode="Components", comp="sefa3", cstrength="2.5", eseed="40")
    assert not at.exception
    assert at.session_state["component"] == "sefa3" and at.session_state["component_strength"] == 2.5
    assert "Faces 40–47" in texts(at.main.markdown) and "after +2.5 along SeFa 3" in texts(at.main.markdown)
    at = run_page(mode="Components", cstrength="2.3")  # a link's strength lands on the slider's 0.5 steps
    assert at.session_state["component_strength"] == 2.5
    at = run_page(mode="Components", comp="pc99", cstrength="60")
    assert not at.exception
    assert at.session_state["component"] == "pc1" and at.session_state["component_strength"] == 3.0


def test_strength_zero_measures_nothing_and_presentation_keeps_the_picker(app_env):
    at = run_page(mode="Components", cstrength="0", present="1")
    assert not at.exception
    assert "Strength 0 moves nothing" in texts(at.main.caption) and not at.main.metric
    assert at.radio(key="component") and at.slider(key="component_strength")  # what a speaker changes live
    assert not at.main.get("number_input") and not at.main.code


def test_directions_mode_without_a_classifier_points_to_components(app_env):
    at = run_page(mode="Directions")
    assert not at.exception
    at.button(key="open_components").click().run()
    assert not at.exception and at.session_state["arithmetic_mode"] == "Components"
    assert at.radio(key="component")


def _bundled(name: str) -> Path | None:
    path = ROOT / "checkpoints" / f"{name}.safetensors"
    return path if path.is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_bundled("digits32") is None, reason="needs the bundled digits32 checkpoint")
def test_components_are_the_directions_digits32_offers(tmp_path, monkeypatch):
    isolate_app(tmp_path, monkeypatch, _bundled("digits32"))
    at = run_page(mode="Components", timeout=300)
    assert not at.exception
    assert all(" · unnamed · " in option for option in at.radio(key="component").options)
    pixels, baseline = metrics(at)["pixels changed (of 255)"]
    assert float(pixels) > 1.5 * float(baseline.removeprefix("random direction: "))  # more than chance


@pytest.mark.slow
@pytest.mark.skipif(_bundled("toonfaces64") is None, reason="needs the bundled toonfaces64 checkpoint")
def test_toonfaces64_components_are_named_by_the_classifier(tmp_path, monkeypatch):
    isolate_app(tmp_path, monkeypatch, _bundled("toonfaces64"))
    at = run_page(mode="Components", timeout=300)
    assert not at.exception
    options = at.radio(key="component").options
    assert options[0].startswith("PC1 · hat ") and options[0].endswith(" pts")  # its first axis takes hats off
    assert "closest SeFa 1" in texts(at.main.caption)
    assert "hat, frequency" in metrics(at)
    assert at.main.get("plotly_chart")  # every attribute's change beside the random direction's
