"""AppTest of the Latent map page: a small PCA map on arrival, Compute for t-SNE and larger maps, a selection shows
images to pin one by one, the CSV export, bad parameters, URL state. Plotly charts are opaque to AppTest: selections
are faked."""

import pytest
from app_support import isolate_app, run_view


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    return isolate_app(tmp_path, monkeypatch, tiny_checkpoint)


def run_page(**query):
    return run_view("latent_map", timeout=90, **query)


def compute(at, points=60, method="PCA"):
    at.number_input(key="map_points").set_value(points)
    at.radio(key="map_method").set_value(method)
    return at.button(key="map_compute").click().run()


def charts(at):
    return at.main.get("plotly_chart")


def fake_selection(at, seeds):
    at.session_state["map_chart"] = {
        "selection": {
            "points": [{"customdata": {"0": seed}, "x": 0.0, "y": 0.0} for seed in seeds],
            "point_indices": list(range(len(seeds))),
            "box": [],
            "lasso": [],
        }
    }
    return at.run()


def test_the_default_pca_map_is_drawn_on_arrival(app_env):
    at = run_page()
    assert not at.exception
    assert at.button(key="map_compute")
    assert at.selectbox(key="map_space").value == "discriminator"  # the tiny checkpoint has a D
    assert "attributes" not in at.selectbox(key="map_space").options  # no classifier for its data set
    assert len(charts(at)) == 1 and at.session_state["map_points"] == 500  # no Compute pressed
    assert at.session_state["map_shown"] is False and "map" not in at.query_params
    assert any("shapeless blob" in c.value for c in at.main.caption)


@pytest.mark.parametrize("query", [dict(proj="t-SNE"), dict(points="1000")])
def test_tsne_and_large_maps_wait_for_compute(app_env, query):
    at = run_page(**query)
    assert not at.exception and not charts(at)
    assert any("wait for **Compute**" in info.value for info in at.main.info)


def test_compute_draws_the_map_and_keeps_it(app_env):
    at = compute(run_page())
    assert not at.exception
    assert len(charts(at)) == 1
    assert at.session_state["map_shown"] is True
    assert at.query_params["map"] in ("1", ["1"]) and at.query_params["points"] in ("60", ["60"])
    at.number_input(key="map_points").set_value(80)  # inside the form: nothing changes until Compute
    at.run()
    assert len(charts(at)) == 1 and at.session_state["map_points"] == 60
    assert any("60 points" in status.label for status in at.main.status)


def test_tsne_and_colour_choices(app_env):
    at = compute(run_page(), points=40, method="t-SNE")
    assert not at.exception and len(charts(at)) == 1
    for colour in ("norm", "cluster", "D score"):
        at.selectbox(key="map_color").set_value(colour).run()
        assert not at.exception and len(charts(at)) == 1
    at.toggle(key="map_atlas").set_value(True).run()
    assert not at.exception and len(charts(at)) == 1


def test_selection_shows_images_and_pins_only_the_chosen_ones(app_env):
    at = compute(run_page())
    assert not at.main.get("image")
    at = fake_selection(at, [3, 17, 42, 999])  # 999 is not on this map: ignored
    assert not at.exception
    assert len(at.main.get("image")) == 3
    assert any("3 selected" in header.value for header in at.main.subheader)
    assert [b.key for b in at.main.button if b.key.startswith("map_pin")] == ["map_pin_3", "map_pin_17", "map_pin_42"]
    at.button(key="map_pin_17").click().run()
    assert at.session_state["pins"] == [17]  # only the face the user pinned, no bulk pinning of unseen seeds
    assert at.query_params["pins"] in ("17", ["17"])
    assert at.button(key="map_pin_17").label == "pinned"
    at.button(key="map_pin_17").click().run()
    assert at.session_state["pins"] == []


def test_a_large_selection_shows_48_faces_and_pins_none_by_itself(app_env):
    at = compute(run_page(), points=120)
    at = fake_selection(at, list(range(100)))
    assert not at.exception
    assert len(at.main.get("image")) == 48 and any("first 48 shown" in h.value for h in at.main.subheader)
    assert at.session_state["pins"] == [] and "pins" not in at.query_params


def test_csv_download_is_offered(app_env):
    at = compute(run_page())
    buttons = at.main.get("download_button")
    assert len(buttons) == 1 and buttons[0].proto.label.startswith("Download coordinates")


def test_csv_has_seeds_coordinates_and_colours(app_env):
    import numpy as np

    from dashboard import services

    latent = services.LatentMap(
        seeds=np.array([4, 5, 6]),
        coordinates=np.zeros((3, 2), np.float32),
        norms=np.ones(3),
        d_scores=np.array([0.1, 0.5, 0.9]),
        attributes={"hat": np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]), "hair": np.full((3, 3), 1 / 3)},
        classes={"hat": ["no", "yes"], "hair": ["black", "brown", "red"]},
        seconds=0.0,
    )
    lines = services.map_csv(latent, clusters=np.array([0, 1, 1])).decode().splitlines()
    assert lines[0] == "seed,x,y,d_score,norm,cluster,p_hat,p_hair_black,p_hair_brown,p_hair_red"
    assert lines[2].startswith("5,0,0,0.5,1,1,0.8,")


def test_bad_perplexity_is_a_message_not_a_traceback(app_env):
    at = run_page(points="20", proj="t-SNE", perp="50", map="1")
    assert not at.exception
    assert any("perplexity" in error.value for error in at.main.error)
    assert not charts(at)


def test_bookmark_redraws_the_map(app_env):
    at = run_page(points="30", proj="PCA", space="pixels", color="norm", map="1")
    assert not at.exception
    assert len(charts(at)) == 1
    assert at.session_state["map_space"] == "pixels" and at.session_state["map_color"] == "norm"


def test_attribute_colours_and_hover_when_a_classifier_exists():
    """The tiny checkpoint has no classifier: check the page's attribute branches on a hand-made map."""
    import numpy as np

    from dashboard import services
    from dashboard.views import latent_map

    latent = services.LatentMap(
        seeds=np.array([4, 5, 6]),
        coordinates=np.arange(6, dtype=np.float32).reshape(3, 2),
        norms=np.ones(3),
        d_scores=None,
        attributes={
            "hat": np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]),
            "hair": np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]),
        },
        classes={"hat": ["no", "yes"], "hair": ["black", "brown", "red"]},
        seconds=0.0,
    )
    values, categories, title = latent_map._colour_values(latent, "attribute:hat", None)
    assert categories is None and title == "P(hat)" and values.tolist() == [0.1, 0.8, 0.5]
    values, categories, title = latent_map._colour_values(latent, "attribute:hair", None)
    assert categories == ["black", "brown", "red"] and values.tolist() == [0, 1, 2]
    figure = latent_map._figure(latent, values, categories, title, presenting=False)
    assert [trace.name for trace in figure.data] == ["black", "brown", "red"]
    assert figure.data[1].customdata.tolist() == [5]  # selections map back to seeds through customdata
    assert "seed 5" in figure.data[1].hovertext[0] and "hat" in figure.data[1].hovertext[0]
    assert figure.layout.dragmode == "lasso"


@pytest.fixture
def recorded_maps(monkeypatch):
    """services.latent_map replaced by a recorder: what the page asks to compute, and nothing computed."""
    from dashboard import services

    calls = []

    def record(path, first, count, space, method, perplexity, iterations, seed, progress=None):
        calls.append((count, method, perplexity, iterations))
        raise ValueError("recorded, not computed")

    monkeypatch.setattr(services, "latent_map", record)
    return calls


def test_a_costly_link_computes_nothing_on_arrival_and_compute_reproduces_it(app_env, recorded_maps):
    at = run_page(map="1", proj="t-SNE", points="5000", iter="2000", perp="100")
    assert not at.exception and not charts(at) and recorded_maps == []  # 62 s of CPU before, unasked
    assert [at.session_state[key] for key in ("map_points", "map_method", "map_iterations", "perplexity")] == [
        5000,
        "t-SNE",
        2000,
        100,
    ]
    assert any("t-SNE of 5,000 points, 2,000 iterations" in info.value for info in at.main.info)
    assert at.query_params["proj"] in ("t-SNE", ["t-SNE"])  # the link stays shareable
    at.button(key="map_compute").click().run()
    assert recorded_maps == [(5000, "tsne", 100, 2000)]  # the shared view, once asked for


def test_a_costly_link_in_presentation_offers_compute(app_env, recorded_maps):
    at = run_page(map="1", proj="t-SNE", points="5000", present="1")
    assert not at.exception and recorded_maps == []
    at.button(key="map_compute_now").click().run()
    assert recorded_maps == [(5000, "tsne", 30, 500)]


def test_a_model_too_slow_for_the_default_map_waits_for_compute(app_env, recorded_maps, monkeypatch):
    from ganlib.budget import Cost
    from ganlib.explorer import Explorer

    monkeypatch.setattr(Explorer, "cost", lambda self: Cost(seconds_per_image=1.0, bytes_per_image=1))
    at = run_page()  # 500 points at 1 s each: beyond the request budget
    assert not at.exception and recorded_maps == []
    assert any("wait for **Compute**" in info.value for info in at.main.info)


def test_a_small_tsne_link_draws_on_arrival(app_env, recorded_maps):
    """A rehearsed t-SNE slide (a few hundred points) fits the request budget: it draws without a click, while the
    5,000-point link above waits."""
    at = run_page(map="1", proj="t-SNE", points="200", iter="250", perp="10")
    assert not at.exception and recorded_maps == [(200, "tsne", 10, 250)]
