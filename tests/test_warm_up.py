"""The dashboard's warm-up (services.warm_up): once per server process, in the background, the default checkpoint's
demo direction and measured edit are computed, so that the first visitor's "Add sunglasses" computes nothing."""

from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from app_support import isolate_app, run_view

import ganlib.explorer
from dashboard import services

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_server(monkeypatch, tmp_path):
    """No warm-up started yet in this process, an empty direction cache, and no wait for an idle server."""
    monkeypatch.setattr(services, "_warm_up_thread", None)
    monkeypatch.setattr(services, "IDLE_SECONDS", 0.0)
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANLIB_WARM_UP", "1")  # conftest switches it off for every other test


def _bundled_toonfaces() -> Path | None:
    from ganlib.classifier import BUNDLED

    path = ROOT / "checkpoints" / "toonfaces32.safetensors"
    return path if path.is_file() and BUNDLED["toonfaces"].is_file() else None


def test_it_starts_once_and_a_failure_stays_in_the_thread(fresh_server, tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)  # no classifier: nothing to compute for the demo
    monkeypatch.setattr(services, "_first_uses", lambda path, arrivals=(): ())  # seconds of imports: see below
    monkeypatch.setenv("GANLIB_WARM_UP", "0")
    assert services.warm_up("bundled/tiny.safetensors") is None  # switched off
    monkeypatch.setenv("GANLIB_WARM_UP", "1")
    assert services.warm_up("") is None
    thread = services.warm_up("bundled/not-a-checkpoint.safetensors")  # the page reports this one itself
    assert thread is not None and thread.name == "ganlib-warm-up"
    assert services.warm_up("bundled/tiny.safetensors") is None  # once per process
    thread.join(timeout=60)
    assert not thread.is_alive()


@pytest.mark.slow
@pytest.mark.skipif(_bundled_toonfaces() is None, reason="needs the bundled classifier and a ToonFaces checkpoint")
def test_the_demo_click_finds_everything_computed(fresh_server, tmp_path, monkeypatch):
    isolate_app(tmp_path, monkeypatch, _bundled_toonfaces())
    path = services.list_checkpoints()[0].id
    thread = services.warm_up(path)
    thread.join(timeout=300)
    folder = services.explorer(path).cache.folder
    assert list(folder.glob("direction-*.safetensors")) and list(folder.glob("measure-*.json"))
    assert list(folder.glob("components-*.safetensors"))  # named when idle: the Components mode's first view

    work = {"classify_latents": 0, "find_direction": 0, "measure_edit": 0}
    for name in work:
        original = getattr(ganlib.explorer, name)

        def counted(*args, name=name, original=original, **kwargs):
            work[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(ganlib.explorer, name, counted)
    at = run_view("arithmetic", timeout=300)
    at.button(key="demo_sunglasses").click().run()
    assert not at.exception and "sunglasses added" in " ".join(m.label for m in at.main.metric)
    assert work == {"classify_latents": 0, "find_direction": 0, "measure_edit": 0}


def test_the_pages_first_views_come_after_the_imports_they_need(fresh_server, monkeypatch):
    calls = []
    monkeypatch.setattr(
        services.first_run, "import_late_libraries", lambda when_quiet: calls.append(("late imports", when_quiet))
    )
    monkeypatch.setattr(services, "ToyGAN", lambda config: calls.append(("game", None)))
    monkeypatch.setattr(services, "named_components", lambda model: calls.append(("components", model)))
    monkeypatch.setattr(services, "measure_chance", lambda model, strengths: calls.append(("chance", strengths)))
    monkeypatch.setattr(services, "explorer", lambda path: path)
    arrivals = (lambda path: calls.append(("interpolate", path)), lambda path: calls.append(("map", path)))
    for step in services._first_uses("bundled/x.safetensors", arrivals):
        step()
    assert calls == [
        ("late imports", True),  # the map's PCA needs scikit-learn; each import waits for a quiet server
        ("interpolate", "bundled/x.safetensors"),
        ("map", "bundled/x.safetensors"),
        ("game", None),
        ("components", "bundled/x.safetensors"),
        ("chance", (-3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)),  # every step of the slider
    ]


@pytest.mark.slow
def test_a_warm_server_opens_interpolate_and_the_map_from_the_cache(tmp_path, monkeypatch, tiny_checkpoint):
    """The arrivals fill the very cache entries the pages read with their defaults: opening them computes nothing."""
    import ganlib.projection
    from dashboard.arrivals import ARRIVALS

    st.cache_data.clear()  # an earlier test may have drawn these pages for a checkpoint of the same id
    monkeypatch.setattr(services, "_seen_versions", {})  # ... whose other file version would clear the caches
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    path = services.list_checkpoints()[0].id
    for arrival in ARRIVALS:
        arrival(path)
    work = {"interpolate": 0, "map_points": 0}
    explorer = services.explorer(path)
    original_interpolate, original_map_points = explorer.interpolate, ganlib.projection.map_points

    def interpolate(*args, **kwargs):
        work["interpolate"] += 1
        return original_interpolate(*args, **kwargs)

    def map_points(*args, **kwargs):
        work["map_points"] += 1
        return original_map_points(*args, **kwargs)

    monkeypatch.setattr(explorer, "interpolate", interpolate)
    monkeypatch.setattr(ganlib.projection, "map_points", map_points)
    for view in ("interpolate", "latent_map"):
        at = run_view(view, timeout=120)
        assert not at.exception
    assert work == {"interpolate": 0, "map_points": 0}


def test_grid_png_is_cached_by_the_exact_pixels():
    """Streamlit's own hash samples arrays of a million values or more; a grid must never show another's pixels."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (100, 64, 64, 3), dtype=np.uint8)  # 1.2 million values
    changed = images.copy()
    changed[57, 31, 17, 1] ^= 1
    first = services.grid_png(images, 10)
    assert services.grid_png(images.copy(), 10) == first
    assert services.grid_png(changed, 10) != first


def test_the_summary_method_is_the_evaluations():
    from ganlib.evaluation.report import SUMMARY_METHOD

    assert services.SUMMARY_METHOD == SUMMARY_METHOD
