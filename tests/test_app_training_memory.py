"""The sidebar's training form refuses a run larger than the machine with TrainConfig's one line, as the CLI does."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import isolate_app
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.mark.slow
def test_the_form_refuses_a_batch_the_machine_cannot_hold(tmp_path, monkeypatch, tiny_checkpoint):
    """Batch 4096 at 128 px passed the form and ended in an allocator error or the OOM killer."""
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    monkeypatch.setattr("ganlib.config.machine_memory_bytes", lambda: 24 << 30, raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="train_image_size").set_value(128).run()
    at.sidebar.number_input(key="train_batch_size").set_value(4096).run()
    assert not at.exception
    [error] = at.sidebar.error
    assert error.value.startswith("this run needs about 3") and "more than this machine's 24.0 GiB" in error.value
    assert at.sidebar.button(key="training_start").disabled
    at.sidebar.number_input(key="train_batch_size").set_value(256).run()
    assert not at.sidebar.error and not at.sidebar.button(key="training_start").disabled
