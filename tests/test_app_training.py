"""AppTest of the sidebar's "Train a model" panel and the Training page (real, tiny training processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_support import isolate_app
from streamlit.testing.v1 import AppTest

from ganlib import runs
from ganlib.config import TrainConfig

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
TINY = ["--latent-dim", "8", "--generator-width", "8", "--discriminator-width", "8"]


@pytest.fixture
def app_env(tmp_path, monkeypatch, tiny_checkpoint):
    isolate_app(tmp_path, monkeypatch, tiny_checkpoint)
    yield tmp_path / "runs"
    handle = runs.active_run(tmp_path / "runs")
    if handle is not None:  # never leave a trainer running on the shared cores
        runs.stop_run(handle, timeout=5)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished 12-step run directory, written by the real CLI."""
    run_dir = tmp_path_factory.mktemp("trained") / "tiny-run"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ganlib",
            "train",
            "--dataset",
            "digits",
            "--image-size",
            "32",
            "--steps",
            "12",
            "--batch-size",
            "8",
            *TINY,
            "--threads",
            "1",
            "--quiet",
            "--log-every",
            "1",
            "--sample-every",
            "3",
            "--out",
            str(run_dir),
        ],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "GANLIB_CACHE": str(tmp_path_factory.getbasetemp() / "ganlib-cache"),
        },
    )
    return run_dir


def copy_run(source: Path, runs_dir: Path) -> Path:
    import shutil

    return Path(shutil.copytree(source, runs_dir / source.name))


def run_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(page)  # before the first run the page is found by file name = its url_path
    return at.run()


def test_panel_renders_with_defaults_and_estimate(app_env):
    at = run_app()
    assert not at.exception
    assert "Train a model" in [e.label for e in at.sidebar.expander]
    assert not at.sidebar.button(key="training_start").disabled
    assert at.sidebar.number_input(key="train_steps").value == TrainConfig().steps
    assert at.sidebar.number_input(key="train_batch_size").value == 32  # the form's own default for short runs
    assert at.sidebar.number_input(key="train_instance_noise").value == TrainConfig().instance_noise == 0.1
    assert any("on this CPU" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("train_steps", 0, "steps must be from 1"),
        ("train_instance_noise", 3.0, "instance_noise must be from 0 to 2"),
        ("train_lr", 0.0, "lr must be in (0, 0.1]"),
    ],
)
def test_out_of_range_value_is_shown_beside_its_field_and_start_refuses(app_env, key, value, words):
    """The form's bounds are TrainConfig's: the value stays as typed, the reason shows, and Start is disabled."""
    at = run_app()
    at.sidebar.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert at.sidebar.number_input(key=key).value == value
    assert any(words in e.value for e in at.sidebar.error)
    assert at.sidebar.button(key="training_start").disabled
    assert not any("on this CPU" in c.value for c in at.sidebar.caption)


def test_start_error_is_one_line_and_starts_nothing(app_env):
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("folder").run()
    at.sidebar.text_input(key="train_folder").input("/no/such/pictures").run()
    at.sidebar.button(key="training_start").click().run()
    assert not at.exception
    [error] = at.sidebar.error
    assert "does not exist" in error.value and "\n" not in error.value
    assert runs.active_run(app_env) is None
    assert not [p for p in app_env.glob("*") if not p.name.startswith(".")]


@pytest.mark.slow
def test_start_from_the_panel_then_stop(app_env):
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("digits").run()
    at.sidebar.number_input(key="train_steps").set_value(100_000).run()
    at.sidebar.number_input(key="train_label_smoothing").set_value(0.1).run()
    at.sidebar.number_input(key="train_instance_noise").set_value(0.15).run()
    at.sidebar.button(key="training_start").click().run()
    assert not at.exception and not at.sidebar.error
    name = at.session_state["training_run"]
    assert name.startswith("digits-32px-") and (app_env / name / runs.LOG_FILE).is_file()
    command = json.loads((app_env / name / runs.LAUNCH_FILE).read_text())["command"]
    assert command[command.index("--label-smoothing") + 1] == "0.1"
    assert command[command.index("--instance-noise") + 1] == "0.15"
    handle = runs.active_run(app_env)
    assert handle is not None and handle.name == name
    # the panel now follows the run: progress and Stop instead of the form
    assert any(b.key == "training_panel_stop" for b in at.sidebar.button)
    assert not any(b.key == "training_start" for b in at.sidebar.button)
    assert at.sidebar.get("progress")
    at.sidebar.button(key="training_panel_stop").click().run()
    assert not at.exception
    assert runs.active_run(app_env) is None
    assert runs.read_progress(app_env / name).state == "stopped"
    assert any(b.key == "training_start" for b in at.sidebar.button)  # idle again


@pytest.mark.slow
def test_training_page_shows_a_finished_run(app_env, finished_run):
    copy_run(finished_run, app_env)
    at = run_app("views/training.py")
    assert not at.exception
    assert [h.value for h in at.header] == ["Training"]
    assert at.session_state["training_run"] == "tiny-run"
    assert len(at.get("plotly_chart")) == 4
    assert any("finished" in s.value for s in at.main.success)
    assert len(at.main.get("image")) == 1  # the sample grid
    assert at.main.select_slider(key="training_sample_step").value == 12
    assert at.query_params["run"] in ("tiny-run", ["tiny-run"])
    # the finished run's checkpoint is in the sidebar picker, and the button opens it in the explorer
    picker = at.sidebar.selectbox(key="_checkpoint_choice")
    assert "run: tiny-run" in picker.options  # AppTest lists the formatted labels
    at.button(key="training_open").click().run()
    assert not at.exception
    assert at.session_state["checkpoint"] == "run/tiny-run"
    assert [h.value for h in at.header] == ["Samples"]


def test_training_page_without_runs_explains(app_env):
    at = run_app("views/training.py")
    assert not at.exception
    assert any("No training runs yet" in i.value for i in at.main.info)


@pytest.mark.slow
def test_training_page_explains_a_failed_run(app_env, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for index in range(16):
        (broken / f"face{index}.png").write_bytes(b"not a png")
    handle = runs.start_run(
        app_env,
        TrainConfig(
            dataset=str(broken),
            image_size=32,
            steps=10,
            batch_size=8,
            latent_dim=8,
            generator_width=8,
            discriminator_width=8,
        ),
        name="broken-run",
    )
    deadline = time.monotonic() + 120
    while runs.read_progress(handle.run_dir).state != "failed" and time.monotonic() < deadline:
        time.sleep(0.2)
    at = run_app("views/training.py")
    assert not at.exception
    [error] = at.main.error
    shown = error.value.replace("\\", "")  # as the browser shows it, without markdown escapes
    assert "broken-run" in shown and "could be read" in shown


@pytest.mark.slow
def test_training_page_shows_a_diverged_run_and_a_collapse_warning(app_env, finished_run):
    run_dir = copy_run(finished_run, app_env)
    status = json.loads((run_dir / "status.json").read_text())
    status.update(
        state="diverged",
        step=11,
        checkpoint_step=9,
        warning="samples look alike at step 9",
        message="training diverged at step 11: loss_g is NaN or infinite; the checkpoint of step 9 is kept",
    )
    (run_dir / "status.json").write_text(json.dumps(status))
    at = run_app("views/training.py")
    assert not at.exception
    [error] = at.main.error
    shown = error.value.replace("\\", "")  # as the browser shows it, without markdown escapes
    assert "tiny-run" in shown and "diverged at step 11" in shown and "step 9 is kept" in shown
    assert [w.value for w in at.main.warning] == ["samples look alike at step 9"]
    assert at.button(key="training_open")  # the kept checkpoint opens in the explorer


@pytest.mark.slow
def test_a_start_refused_because_another_session_started_first_says_so_and_clears(app_env):
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("digits").run()
    # another session presses Start a moment earlier
    other = runs.start_run(
        app_env,
        TrainConfig(
            dataset="digits",
            image_size=32,
            steps=100_000,
            batch_size=8,
            latent_dim=8,
            generator_width=8,
            discriminator_width=8,
        ),  # fmt: skip
        name="their-run",
    )
    at.sidebar.button(key="training_start").click().run()
    assert not at.exception
    assert [p.name for p in app_env.iterdir() if not p.name.startswith(".")] == ["their-run"]  # exactly one run
    [warning] = at.sidebar.warning
    assert "Your run was not started" in warning.value and "another browser session" in warning.value
    assert any(b.key == "training_panel_stop" for b in at.sidebar.button)  # and who can stop it: anyone here
    runs.stop_run(other)
    at.run()
    assert not at.exception and not at.sidebar.warning and not at.sidebar.error  # no stale "still training"
    assert any(b.key == "training_start" for b in at.sidebar.button)


def test_start_on_a_full_disk_is_one_line_and_leaves_no_trainer(app_env, monkeypatch):
    """Issue 20 E: Start raised "[Errno 28]" into the page, and the trainer it had launched ran on unrecorded, so
    nobody could stop it. Now the active record is claimed first: a full disk starts nothing."""
    import errno

    write, launched = runs.write_json, []

    def full(path, value):
        if path.name == runs.ACTIVE_FILE:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write(path, value)

    monkeypatch.setattr(runs, "write_json", full)
    popen = subprocess.Popen
    monkeypatch.setattr(runs.subprocess, "Popen", lambda *a, **k: launched.append(popen(*a, **k)) or launched[-1])
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("digits").run()
    at.sidebar.button(key="training_start").click().run()
    for process in launched:  # never leave one running on the shared cores, whatever the outcome
        if process.poll() is None:
            process.kill()
    assert not at.exception
    [error] = at.sidebar.error
    assert "No space left on device" in error.value and "\n" not in error.value
    assert launched == [] and runs.active_run(app_env) is None


@pytest.mark.parametrize(
    "folder, words",
    [
        ("/" + "a" * 10_000, "longer than 4,096 characters"),  # refused in the form, Start disabled
        ("/tmp/" + "b" * 300, "File name too long"),  # refused at Start, by the folder check
    ],
)
def test_a_folder_path_too_long_is_one_line(app_env, folder, words):
    """Issue 20 L: a 10,000-character folder path raised "[Errno 36] File name too long" into the form."""
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("folder").run()
    at.sidebar.text_input(key="train_folder").input(folder).run()
    if not at.sidebar.button(key="training_start").disabled:
        at.sidebar.button(key="training_start").click().run()
    assert not at.exception
    [error] = at.sidebar.error
    assert words in error.value and "\n" not in error.value and "Errno" not in error.value
    assert runs.active_run(app_env) is None


def test_the_forms_errors_quoting_a_typed_path_are_text_not_markdown(app_env):
    """Issue 20 L: the form rendered its own error text as markdown, so a typed path holding ![x](http://...) made
    the browser fetch that picture."""
    at = run_app()
    at.sidebar.radio(key="train_dataset").set_value("folder").run()
    at.sidebar.text_input(key="train_folder").input("/tmp/![x](http://example.com/x.png)").run()
    at.sidebar.button(key="training_start").click().run()
    assert not at.exception
    [error] = at.sidebar.error
    assert "does not exist" in error.value
    assert "](http" not in error.value and "\\!\\[x\\]\\(http\\:" in error.value  # every bracket and colon escaped
