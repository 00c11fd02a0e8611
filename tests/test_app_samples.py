"""AppTest of the Samples page and the shared sidebar (no browser; see test_browser.py for the real one)."""

from pathlib import Path

import pytest
from app_support import isolate_app
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    return isolate_app(tmp_path, monkeypatch, tiny_checkpoint)


def run_app(**query):
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_samples_page_shows_a_grid_with_seeds(app_env):
    at = run_app()
    assert not at.exception
    assert len(at.main.get("image")) == 16
    assert at.session_state["checkpoint"] == "bundled/tiny"
    captions = [c.value for c in at.main.caption]
    assert any("Seeds 0–15" in c for c in captions)


def test_pin_and_url_state(app_env):
    at = run_app()
    at.button(key="pin_3").click().run()
    assert at.session_state["pins"] == [3]
    assert at.query_params["pins"] in ("3", ["3"])
    at.button(key="pin_3").click().run()
    assert at.session_state["pins"] == []


def test_bookmark_restores_seed_and_size(app_env):
    at = run_app(seed="40", n="36", psi="0.7")
    assert not at.exception
    assert at.session_state["seed"] == 40 and at.session_state["grid_size"] == 36
    assert any("Seeds 40–75" in c.value for c in at.main.caption)


def test_next_page_and_truncation(app_env):
    at = run_app()
    at.button(key="next_page").click().run()
    assert at.session_state["seed"] == 16
    at.slider(key="truncation").set_value(0.5).run()
    assert not at.exception and at.query_params["psi"] in ("0.5", ["0.5"])


def test_bad_upload_keeps_the_current_model(app_env):
    at = run_app()
    before = at.session_state["checkpoint"]
    # AppTest cannot drive file_uploader in every version; go through the same service the widget calls
    from dashboard import services
    from ganlib.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="not a safetensors file"):
        services.save_upload("evil.safetensors", b"\x80\x04pickle bytes")
    assert at.session_state["checkpoint"] == before
    assert not [p for p in services.upload_dir().rglob("*") if p.is_file()] if services.upload_dir().exists() else True


def test_picking_a_checkpoint_clears_pins_and_a_bad_one_keeps_the_current_model(app_env):
    (app_env / "x-broken.safetensors").write_bytes(b"\x80\x04pickle bytes")
    (app_env / "z-other.safetensors").write_bytes((app_env / "tiny.safetensors").read_bytes())
    at = run_app(pins="3,5")
    before = at.session_state["checkpoint"]
    assert before == "bundled/tiny" and at.session_state["pins"] == [3, 5]
    picker = at.sidebar.selectbox(key="_checkpoint_choice")
    picker.set_value("bundled/x-broken").run()
    assert not at.exception
    assert at.session_state["checkpoint"] == before and at.session_state["pins"] == [3, 5]
    assert any("kept" in e.value for e in at.sidebar.error)
    assert at.sidebar.selectbox(key="_checkpoint_choice").value == before  # the picker shows the model in use
    at.sidebar.selectbox(key="_checkpoint_choice").set_value("bundled/z-other").run()
    assert at.session_state["checkpoint"] == "bundled/z-other"
    assert at.session_state["pins"] == []  # seeds mean different images under another model


def test_toonfaces_is_the_default_bundled_checkpoint(tmp_path, monkeypatch, tiny_checkpoint):
    from dashboard import services

    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for name in ("digits32.safetensors", "toonfaces32.safetensors", "toonfaces64.safetensors", "anything.safetensors"):
        (bundled / name).write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv("GANLIB_CHECKPOINTS", str(bundled))
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "runs"))
    labels = [c.label for c in services.list_checkpoints()]
    assert labels == ["bundled: toonfaces64", "bundled: toonfaces32", "bundled: anything", "bundled: digits32"]


def test_results_are_dropped_when_the_open_checkpoint_is_rewritten(tmp_path, monkeypatch, tiny_checkpoint):
    """A training run rewrites its generator file under the same key: cached results must not outlive it."""
    import os

    from dashboard import services

    cleared = []
    monkeypatch.setattr(services.st.cache_data, "clear", lambda: cleared.append(True))
    (tmp_path / "runs" / "run").mkdir(parents=True)
    file = tmp_path / "runs" / "run" / "generator.safetensors"
    file.write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "runs"))
    path = "run/run"
    services.forget_stale_results(path)
    services.forget_stale_results(path)
    assert cleared == []  # same file: results stay cached
    os.utime(file, (1, 1))  # the run wrote a new checkpoint
    services.forget_stale_results(path)
    assert cleared == [True]


def test_streamlit_upload_ceiling_is_the_limit_the_sidebar_states():
    """The uploader prints Streamlit's ceiling ("64MB per file") under our label "(up to 64 MB)": they must agree."""
    import re

    from dashboard import services

    config_file = Path(__file__).resolve().parent.parent / "dashboard" / ".streamlit" / "config.toml"
    config = config_file.read_text()  # no tomllib on 3.10
    assert re.findall(r"^maxUploadSize = (\d+)$", config, re.MULTILINE) == [str(services.MAX_UPLOAD_MB)]


HOSTILE_LINKS = {
    "n": ["20000", "0", "-5", "7", "1e9"],
    "seed": ["-1", "99999999999999999999", "x"],
    "psi": ["2", "inf", "nan", "-0.1"],
    "pins": [",".join(map(str, range(2000))), "-1", "1,x"],
    "present": ["maybe"],
    "info": ["x" * 500],
}


@pytest.mark.parametrize("param, value", [(p, v) for p, values in HOSTILE_LINKS.items() for v in values])
def test_a_hostile_link_value_falls_back_to_its_default_with_one_notice(app_env, param, value):
    from dashboard.state import URL_STATE

    at = run_app(**{param: value})
    assert not at.exception
    key = next(k for k, spec in URL_STATE.items() if spec.param == param)
    assert at.session_state[key] == URL_STATE[key].default
    [toast] = [t.value for t in at.toast]
    assert f"The link's {param} (" in toast and "was ignored" in toast
    assert len(value) < 20 or value[:20] not in toast  # the notice names the parameter, never repeats the link's text


@pytest.mark.parametrize(
    "ckpt",
    [
        "/etc/shadow",
        "/etc/hostname",
        "/no/such/file.safetensors",
        "../checkpoints/tiny",
        "bundled/nothing",
        "![x](http://example.com/x.png)",
    ],
)
def test_ckpt_names_a_listed_checkpoint_by_id_and_unknown_ids_get_one_answer(app_env, ckpt):
    at = run_app(ckpt=ckpt)
    assert not at.exception
    assert at.session_state["checkpoint"] == "bundled/tiny"
    assert [t.value for t in at.toast] == [
        "The link's checkpoint is not one this app lists; the default is open instead."
    ]


def test_a_listed_id_in_the_link_opens_it(app_env):
    (app_env / "z-other.safetensors").write_bytes((app_env / "tiny.safetensors").read_bytes())
    at = run_app(ckpt="bundled/z-other")
    assert not at.exception and at.session_state["checkpoint"] == "bundled/z-other" and not at.toast


def test_the_model_card_shows_metadata_as_text(tmp_path, monkeypatch, tiny_config):
    from app_support import isolate_app

    import ganlib

    hostile = tmp_path / "card.safetensors"
    ganlib.save_generator(
        hostile,
        ganlib.Generator(tiny_config),
        {
            "dataset": {"name": "![x](http://example.com/track.png)", "num_images": 1},
            "notes": "see [here](http://example.com) or http://example.com/x",
        },
    )
    isolate_app(tmp_path, monkeypatch, hostile)
    at = run_app()
    assert not at.exception
    shown = "\n".join(m.value for m in at.sidebar.markdown) + "\n".join(c.value for c in at.sidebar.caption)
    assert "](http" not in shown.replace("\\]\\(", "") and "http://" not in shown  # every bracket and colon escaped
    assert "\\!\\[x\\]\\(http\\:" in shown  # shown literally, character by character


def test_pins_stop_at_what_a_link_can_hold(app_env):
    at = run_app(pins=",".join(map(str, range(100, 164))))  # 64 pins, the most a link holds
    at.button(key="pin_0").click().run()
    assert not at.exception and len(at.session_state["pins"]) == 64 and 0 not in at.session_state["pins"]
    assert any("At most 64 pins" in toast.value for toast in at.toast)


def test_the_root_url_opens_the_samples_page_at_its_own_path(app_env):
    """st.navigation serves its default page at / only: the default is a redirect, so /samples (where Copy link
    points) is a page of its own. The link's query string survives the redirect."""
    from dashboard import navigation

    assert navigation.PAGE_SPECS["samples"].url_path == "samples" and navigation.ROOT_PATH != "samples"
    at = run_app(seed="40")
    assert not at.exception
    assert any("Seeds 40–55" in c.value for c in at.main.caption)
    assert at.query_params["seed"] in ("40", ["40"])


def test_the_sidebar_puts_the_speakers_controls_above_the_folded_model_card(app_env):
    at = run_app()
    sidebar = list(at.sidebar)  # depth first, in the order shown
    position = {getattr(node, "key", None) or getattr(node, "type", ""): i for i, node in enumerate(sidebar)}
    assert position["popover"] < position["presentation"] < position["_checkpoint_choice"] < position["model_card"]
    card = next(node for node in sidebar if getattr(node, "key", None) == "model_card")
    assert card.label == "Model card" and not card.proto.expanded  # folded


def test_no_page_object_is_shared_between_sessions_or_runs(app_env, monkeypatch):
    """Issue 20 C: st.navigation marks the page object it returns as runnable and page.run() clears the mark, so
    page objects built once per process let one session's run clear another's mark between its st.navigation and
    its page.run ("This page cannot be called directly", seen by two sessions pressing Start together). Each run
    builds its own, and the links between pages (pages.page) use that run's."""
    import streamlit

    from dashboard import pages

    navigate, given, linked = streamlit.navigation, [], []

    def recording(page_list, **options):
        given.append(list(page_list))
        linked.append(pages.page("samples"))
        return navigate(page_list, **options)

    monkeypatch.setattr(streamlit, "navigation", recording)
    first, second = run_app(), run_app()
    second.run()
    assert not first.exception and not second.exception
    assert len(given) >= 3  # two sessions, the second twice (plus the root's redirect to /samples)
    for index, page_list in enumerate(given):
        assert any(page is linked[index] for page in page_list)  # a link names a page of the same run
        for other in given[index + 1 :]:
            assert not any(page is mine for page in page_list for mine in other)


LATE_IMPORT_SCRIPT = """
import ast, json, sys
sys.path.insert(0, sys.argv[2])
tree = ast.parse(open(sys.argv[1]).read())
exec(compile(ast.Module([n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], [])
     , sys.argv[1], "exec"), {})
from dashboard import first_run
first_run.import_late_libraries()  # what the first script run does once its page is drawn
before = set(sys.modules)
from app_support import run_view
for view in ("samples", "your_image", "interpolate", "arithmetic", "latent_map", "training", "gan_game"):
    assert not run_view(view, map="1", timeout=120).exception, view
heavy = ("pandas", "pyarrow", "sklearn", "scipy", "sympy", "torch._dynamo", "plotly.io")
print(json.dumps(sorted({m for m in set(sys.modules) - before for h in heavy if m == h or m.startswith(h + ".")})))
"""


@pytest.mark.slow
def test_heavy_libraries_are_imported_before_any_page_runs(tmp_path, tiny_checkpoint):
    """Issue 20 C: a page importing pandas (or scikit-learn, or torch's compiler stack) on first use, while another
    session imported it too, failed a render under load. The first script run imports them once its page is drawn
    (dashboard/first_run.py), and runs take turns until then: after that, rendering every page (the latent map
    drawn on arrival) imports none of them late."""
    import json
    import os
    import subprocess
    import sys

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / tiny_checkpoint.name).write_bytes(tiny_checkpoint.read_bytes())
    environment = {**os.environ, "GANLIB_CHECKPOINTS": str(checkpoints), "GANLIB_RUNS": str(tmp_path / "runs")}
    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", LATE_IMPORT_SCRIPT, APP, tests], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_an_upload_on_a_full_disk_is_one_line_and_keeps_the_model(app_env, tiny_checkpoint, monkeypatch):
    """Issue 20 E: the sidebar's upload raised "[Errno 28] No space left on device" into the page."""
    import errno
    import os

    at = run_app()
    before = at.session_state["checkpoint"]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    at.sidebar.file_uploader(key="upload_0").upload("mine.safetensors", tiny_checkpoint.read_bytes()).run()
    monkeypatch.undo()
    assert not at.exception
    [error] = at.sidebar.error
    assert "mine.safetensors" in error.value and "No space left on device" in error.value and "\n" not in error.value
    assert at.session_state["checkpoint"] == before


def test_first_runs_take_turns_until_the_late_imports_are_done(monkeypatch):
    """Issue 20 C: until the libraries pages import late are in, a second session's run waits for the first run's
    page (the imports follow in the background: tests/test_cold_start.py); after that runs go through side by
    side."""
    import threading
    import time

    from dashboard import first_run

    monkeypatch.setattr(first_run, "_done", threading.Event())
    monkeypatch.setattr(first_run, "_importer", None)
    monkeypatch.setattr(first_run, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(first_run, "LATE_IMPORTS", ("json",))
    events, first_inside = [], threading.Event()

    def session(name, hold):
        with first_run.one_at_a_time():
            events.append(f"{name} in")
            first_inside.set()
            time.sleep(hold)
            events.append(f"{name} out")

    first = threading.Thread(target=session, args=("first", 0.3))
    first.start()
    first_inside.wait(5)
    second = threading.Thread(target=session, args=("second", 0))
    second.start()
    first.join(5)
    second.join(5)
    assert events == ["first in", "first out", "second in", "second out"]
    first_run._importer.join(5)
    assert first_run._done.is_set()
    with first_run.one_at_a_time():  # done: no lock taken
        assert not first_run._lock.locked()
