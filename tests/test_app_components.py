"""AppTest of the Arithmetic page's Components mode: SeFa and GANSpace directions with a strength slider, measured
against a random direction; on a checkpoint without a classifier (the tiny one, digits32) and on the bundled
ToonFaces checkpoints, whose classifier names them."""

import re
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


def shown_texts(elements) -> list[str]:
    """What a viewer reads in ``elements`` (the page or one block): captions, markdown, metrics, the list's labels."""
    found = [e.value for e in (*elements.caption, *elements.markdown)]
    found += [part for m in elements.metric for part in (m.label, m.value, m.proto.delta)]
    return found + [option for radio in elements.radio for option in radio.options]


JARGON = ("eigenvalue", "|cos|", " pts", "D's features", "variance")


def jargon_outside_and_inside(at) -> tuple[set[str], set[str]]:
    [details] = [e for e in at.main.expander if e.label == "Details"]
    inside = shown_texts(details)
    outside = [text for text in shown_texts(at.main) if text not in inside]
    return ({w for w in JARGON if any(w in t for t in outside)}, {w for w in JARGON if any(w in t for t in inside)})


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
    assert "This model has no classifier, so it is unnamed" in texts(at.main.caption)
    at.slider(key="component_strength").set_value(3.0).run()
    measured = metrics(at)
    assert set(measured) == {"pixels changed (of 255)", "D's features moved at +3.0"}  # no attribute figure
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
    assert at.session_state["component"] == "pc1" and at.session_state["component_strength"] == 0.0


def test_the_strength_starts_at_zero_within_three_and_an_older_link_beyond_it_opens_with_a_notice(app_env):
    at = run_page(mode="Components")
    slider = at.slider(key="component_strength")
    assert (slider.min, slider.max, slider.value) == (-3.0, 3.0, 0.0)  # drag the change in, to the edge G saw
    assert "Strength 0 moves nothing" in texts(at.main.caption) and not at.main.metric
    at = run_page(mode="Components", comp="sefa3", cstrength="4.5")  # the slider once reached 6
    assert not at.exception and at.session_state["component_strength"] == 0.0
    assert any("The link's cstrength (not from -3 to 3)" in toast.value for toast in at.toast)
    assert at.session_state["component"] == "sefa3"


def test_the_list_and_the_box_show_one_measurement_and_jargon_waits_in_details(app_env):
    at = run_page(mode="Components", cstrength="3")
    assert not at.exception
    for component in ("pc1", "sefa2", "sefa5"):
        at.radio(key="component").set_value(component).run()
        radio = at.radio(key="component")
        label = radio.options[radio.index]
        listed = re.search(r"(\d+\.\d)× random$", label).group(1)  # its pixel change over a random direction's
        box = metrics(at)["pixels changed (of 255)"][1]
        assert box.endswith(f"this one {listed}× random"), (label, box)  # the same faces, the same range
    outside, inside = jargon_outside_and_inside(at)
    assert outside == set() and {"eigenvalue", "|cos|", "D's features"} <= inside


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
    at = run_page(mode="Components", cstrength="3", timeout=300)
    assert not at.exception
    assert all(" · unnamed · " in option for option in at.radio(key="component").options)
    pixels, baseline = metrics(at)["pixels changed (of 255)"]
    chance = baseline.removeprefix("random direction: ").split(" · ")[0]
    assert float(pixels) > 1.5 * float(chance)  # more than chance


def _with_classifier(name: str) -> Path | None:
    from ganlib.classifier import BUNDLED

    return _bundled(name) if BUNDLED["toonfaces"].is_file() else None


def label_and_box(at, component: str) -> tuple[str, str, str]:
    """(the list's label, the box's attribute metric label, its value) at strength +3."""
    at.radio(key="component").set_value(component)
    at.slider(key="component_strength").set_value(3.0).run()
    assert not at.exception
    radio = at.radio(key="component")
    [(name, value)] = [(m.label, m.value) for m in at.main.metric if m.value.endswith("% of faces")]
    return radio.options[radio.index], name, value


@pytest.mark.slow
@pytest.mark.skipif(_with_classifier("toonfaces32") is None, reason="needs toonfaces32 and the bundled classifier")
def test_a_named_components_label_is_the_figure_its_box_shows_at_plus_three(tmp_path, monkeypatch):
    isolate_app(tmp_path, monkeypatch, _bundled("toonfaces32"))
    at = run_page(mode="Components", timeout=300)
    named = [option for option in at.radio(key="component").options if "% of faces" in option]
    assert len(named) >= 2
    for option in named:
        component = option.split(" · ")[0].lower().replace(" ", "")  # "SeFa 2 · hat: +66% of faces" -> "sefa2"
        label, name, value = label_and_box(at, component)
        attribute, figure = label.split(" · ")[1].split(": ")
        assert (name, value) == (f"{attribute} at +3.0", figure)  # one measurement: same faces, from 0 to +3


@pytest.mark.slow
@pytest.mark.skipif(_with_classifier("toonfaces64") is None, reason="needs toonfaces64 and the bundled classifier")
def test_toonfaces64_components_are_named_by_the_classifier(tmp_path, monkeypatch):
    isolate_app(tmp_path, monkeypatch, _bundled("toonfaces64"))
    at = run_page(mode="Components", timeout=300)
    assert not at.exception
    label, name, value = label_and_box(at, "sefa3")
    assert label.startswith("SeFa 3 · hat: +") and name == "hat at +3.0"  # the demo's component puts hats on
    assert label.endswith(f": {value}") and int(value.removesuffix("% of faces")) >= 50
    outside, inside = jargon_outside_and_inside(at)
    assert outside == set() and {"eigenvalue", "|cos|", "D's features"} <= inside
    [details] = [e for e in at.main.expander if e.label == "Details"]
    assert "closest PC3" in texts(details.caption)  # SeFa k and PC k are one direction here
    assert at.main.get("plotly_chart")  # every attribute's change beside the random direction's
