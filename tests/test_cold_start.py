"""Issue 21, a cold start for a talk: the page's frame and title come before the seconds of imports, the first
run's page is not held back by the libraries pages import late, and a visitor's next click goes before them.
The figures themselves (first paint, server start -> the demo's picture) are benchmarks/bench_stage.py's."""

import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dashboard
from dashboard import first_run

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def fresh_imports(monkeypatch):
    """first_run as a fresh server has it: nothing imported late yet, no importer; LATE_IMPORTS are stand-ins whose
    imports are recorded with the thread that made them."""
    monkeypatch.setattr(first_run, "_done", threading.Event())
    monkeypatch.setattr(first_run, "_importer", None)
    monkeypatch.setattr(first_run, "_runs", 0)
    monkeypatch.setattr(first_run, "LATE_IMPORTS", ("late_one", "late_two"))
    imported = []

    def import_module(name):
        imported.append((name, threading.current_thread().name, time.monotonic()))

    monkeypatch.setattr(first_run.importlib, "import_module", import_module)
    return imported


def test_the_first_run_ends_without_the_late_imports(fresh_imports, monkeypatch):
    """The old first run imported every late library itself once its page was drawn, seconds (7 s under load)
    during which the run went on and a visitor's click waited. Now the run ends at once; a background thread
    imports them when no script has run for QUIET_SECONDS."""
    monkeypatch.setattr(first_run, "QUIET_SECONDS", 0.3)
    with first_run.one_at_a_time():
        pass
    ended = time.monotonic()
    assert fresh_imports == []  # nothing imported in the run itself
    first_run._importer.join(10)
    assert [name for name, _, _ in fresh_imports] == ["late_one", "late_two"]
    assert {thread for _, thread, _ in fresh_imports} == {first_run.IMPORTER_THREAD}
    assert fresh_imports[0][2] - ended >= 0.3  # after a quiet moment, not during the next click
    assert first_run._done.is_set()


def test_a_run_that_comes_in_goes_before_the_next_import(fresh_imports, monkeypatch):
    """While runs keep coming (a visitor clicking), nothing is imported; each import waits for quiet again."""
    monkeypatch.setattr(first_run, "QUIET_SECONDS", 0.5)
    with first_run.one_at_a_time():
        pass
    runs_until = time.monotonic() + 1.2
    while time.monotonic() < runs_until:  # a run every 0.1 s: never quiet for 0.5 s
        with first_run.one_at_a_time():
            time.sleep(0.05)
        time.sleep(0.05)
    assert fresh_imports == []
    first_run._importer.join(10)
    assert fresh_imports and fresh_imports[0][2] >= runs_until + 0.5 - 0.05


def test_work_that_holds_the_imports_off_goes_first(fresh_imports, monkeypatch):
    """The warm-up's demo may import scikit-learn itself: no late import runs beside it."""
    monkeypatch.setattr(first_run, "QUIET_SECONDS", 0.0)
    with first_run.imports_held_off():
        importer = threading.Thread(target=first_run.import_late_libraries, kwargs={"when_quiet": True})
        importer.start()
        time.sleep(0.3)
        assert fresh_imports == []
        released = time.monotonic()
    importer.join(10)
    assert fresh_imports and fresh_imports[0][2] >= released


def _stop_before_the_pages(monkeypatch):
    """Importing dashboard.navigation (the pages, services, torch) fails: what the app drew before it is left."""
    monkeypatch.setattr(first_run, "_pages", threading.Event())
    monkeypatch.delattr(dashboard, "navigation", raising=False)
    monkeypatch.setitem(sys.modules, "dashboard.navigation", None)  # None in sys.modules: ImportError


def test_the_title_is_drawn_before_the_pages_are_imported(monkeypatch):
    """A server's first run drew nothing for 3-7 s: app.py imported the pages, and with them torch, before
    st.set_page_config. The frame (title, a line saying what it waits for) now comes first."""
    _stop_before_the_pages(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.exception  # the import that was made to fail
    assert [title.value for title in at.title] == ["GAN Latent Explorer"]
    assert "loading the model" in at.caption[0].value


def test_a_later_run_draws_no_frame(monkeypatch):
    """Once the pages are imported, a run goes straight to them: no frame to replace."""
    _stop_before_the_pages(monkeypatch)
    first_run.note_pages_imported()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.exception and not at.title
