"""The Latent map's work is shared: images and features are cached in blocks of seeds that every map holding them
reuses (the 500-point arrival map gives a 2,000-point t-SNE its first 500), a projection is cached by what it reads,
and a warm server has the 2,000-point t-SNE with the form's defaults ready before anyone asks."""

import numpy as np
import pytest
import streamlit as st
from app_support import isolate_app, run_view

import ganlib.projection
from dashboard import services

MAP_POINTS, PROJECT = ganlib.projection.map_points, ganlib.projection.project  # the originals, for reference


@pytest.fixture
def map_env(tmp_path, monkeypatch, tiny_checkpoint):
    """The tiny checkpoint, empty caches, blocks of 10 seeds, and a record of the work done: the seeds passed to
    projection.map_points and the (method, perplexity, iterations, seed) of each projection."""
    st.cache_data.clear()  # an earlier test may have mapped a checkpoint of the same id
    monkeypatch.setattr(services, "_seen_versions", {})  # ... whose other file version would clear the caches
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    monkeypatch.setattr(services, "MAP_BLOCK", 10)
    work = {"seeds": [], "projections": []}

    def map_points(explorer, seeds, *args, **kwargs):
        work["seeds"] += [int(seed) for seed in seeds]
        return MAP_POINTS(explorer, seeds, *args, **kwargs)

    def project(features, method="pca", **kwargs):
        work["projections"].append((method, kwargs["perplexity"], kwargs["iterations"], kwargs["seed"]))
        return PROJECT(features, method, **kwargs)

    monkeypatch.setattr(ganlib.projection, "map_points", map_points)
    monkeypatch.setattr(ganlib.projection, "project", project)
    return services.list_checkpoints()[0].id, work


def test_blocks_cover_the_seeds_once_and_line_up_across_maps(monkeypatch):
    monkeypatch.setattr(services, "MAP_BLOCK", 250)
    assert services.map_blocks(0, 500) == [(0, 250), (250, 250)]
    assert services.map_blocks(0, 2000)[:2] == services.map_blocks(0, 500)  # the arrival map's blocks
    assert services.map_blocks(100, 500) == [(100, 150), (250, 250), (500, 100)]
    assert services.map_blocks(240, 20) == [(240, 10), (250, 10)]
    assert services.map_blocks(3, 20) == [(3, 20)]
    for first, count in [(0, 5000), (7, 1234), (249, 2), (250, 250)]:
        blocks = services.map_blocks(first, count)
        assert [seed for start, size in blocks for seed in range(start, start + size)] == list(
            range(first, first + count)
        )


def test_a_larger_map_makes_only_the_images_a_smaller_one_did_not(map_env):
    path, work = map_env
    services.latent_map(path, 0, 20, "discriminator", "pca", 30, 500, 0)  # the arrival map, in small
    assert work["seeds"] == list(range(20))
    larger = services.latent_map(path, 0, 50, "discriminator", "tsne", 10, 250, 0)
    assert work["seeds"] == list(range(50))  # seeds 0..19 came from the first map's blocks
    services.latent_map(path, 0, 50, "discriminator", "pca", 30, 500, 0)
    assert work["seeds"] == list(range(50))  # PCA of the same seeds makes no image

    # the blocks joined are the points of one pass over the same seeds
    one_pass = MAP_POINTS(services.explorer(path), range(50), "discriminator")
    joined = services._map_points(path, 0, 50, "discriminator")
    assert larger.seeds.tolist() == joined.seeds.tolist() == list(range(50))
    np.testing.assert_allclose(joined.features, one_pass.features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(larger.d_scores, one_pass.d_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(larger.norms, one_pass.norms, rtol=1e-5, atol=1e-5)


def test_the_projection_is_cached_by_what_it_reads(map_env):
    path, work = map_env
    pca = [services.latent_map(path, 0, 30, "discriminator", "pca", p, i, 0) for p, i in [(10, 250), (20, 400)]]
    assert [method for method, *_ in work["projections"]] == ["pca"]  # PCA reads no perplexity or iterations
    np.testing.assert_array_equal(pca[0].coordinates, pca[1].coordinates)
    for perplexity, iterations, seed in [(5, 250, 0), (8, 250, 0), (5, 300, 0), (5, 250, 1), (5, 250, 0)]:
        services.latent_map(path, 0, 30, "discriminator", "tsne", perplexity, iterations, seed)
    assert work["projections"][1:] == [
        ("tsne", 5, 250, 0),
        ("tsne", 8, 250, 0),
        ("tsne", 5, 300, 0),
        ("tsne", 5, 250, 1),
    ]
    assert work["seeds"] == list(range(30))  # one set of images for all of them


def test_the_warm_up_runs_the_later_steps_last_with_the_checkpoint(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "_when_idle", lambda: calls.append("idle"))
    monkeypatch.setattr(services, "explorer", lambda path: (_ for _ in ()).throw(ValueError("no model here")))
    monkeypatch.setattr(services, "_first_uses", lambda path, arrivals=(): (lambda: calls.append("first use"),))
    services._warm("bundled/x", (), (lambda path: calls.append(("later", path)),))
    assert calls == ["idle", "first use", "idle", ("later", "bundled/x")]  # each step waits for an idle server


@pytest.mark.slow
def test_a_warm_server_draws_the_default_tsne_of_2000_points_from_the_cache(map_env, monkeypatch):
    """dashboard.arrivals.LATER fills the very cache entries that Compute of a t-SNE of AHEAD_POINTS points with the
    form's other defaults reads: the click makes no image and runs no projection."""
    from dashboard.arrivals import LATER
    from dashboard.views import latent_map

    path, work = map_env
    monkeypatch.setattr(latent_map, "AHEAD_POINTS", 300)  # the tiny model's stand-in for 2,000
    for step in LATER:
        step(path)
    assert work["seeds"] == list(range(300)) and [p[0] for p in work["projections"]] == ["pca", "tsne"]
    at = run_view("latent_map", timeout=120)  # draws the 500-point arrival map (not computed ahead here)
    work["seeds"].clear(), work["projections"].clear()
    at.number_input(key="map_points").set_value(300)
    at.radio(key="map_method").set_value("t-SNE")
    at.button(key="map_compute").click().run()
    assert not at.exception and at.main.get("plotly_chart")
    assert work == {"seeds": [], "projections": []}
