"""The warm-up thread fills the shared caches outside any session: at start-up the server's log stays free of
Streamlit's "missing ScriptRunContext" warning, which other threads still get."""

from __future__ import annotations

import logging
import threading

from app_support import isolate_app
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from dashboard import services

WARNING = "missing ScriptRunContext"


def test_the_warm_up_logs_no_missing_context_and_other_threads_still_do(tmp_path, monkeypatch, tiny_checkpoint, caplog):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    monkeypatch.setattr(services, "_warm_up_thread", None)
    monkeypatch.setattr(services, "_first_uses", lambda path, arrivals=(): ())
    monkeypatch.setenv("GANLIB_WARM_UP", "1")  # conftest switches it off for every other test
    path = services.list_checkpoints()[0].id
    with caplog.at_level(logging.WARNING):
        thread = services.warm_up(path)  # loads the model through the cached services.explorer, as on a server
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert not [r for r in caplog.records if WARNING in r.getMessage()]
        other = threading.Thread(target=get_script_run_ctx, name="someone-else")
        other.start()
        other.join()
        assert [r for r in caplog.records if WARNING in r.getMessage() and "someone-else" in r.getMessage()]
