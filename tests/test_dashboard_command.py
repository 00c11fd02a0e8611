"""``ganlib dashboard``: the folders and flags it hands the app, its one-line refusals, and where the app looks for
its folders when it is installed rather than cloned. Nothing is started here (tests/test_packaging.py starts the
installed app for real)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from ganlib import dashboard_command
from ganlib.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def started(monkeypatch):
    """What the command would start, as [(command, env)], instead of starting it."""
    calls = []
    monkeypatch.setattr(dashboard_command, "start", lambda command, env: calls.append((command, env)) or 0)
    for name in ("GANLIB_RUNS", "GANLIB_CHECKPOINTS", "GANLIB_UPLOADS", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_the_folders_and_flags_given_reach_the_app(tmp_path, monkeypatch, capsys, started):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    argv = ["dashboard", "--runs", "exp/runs", "--checkpoints", "models", "--uploads", "up", "--port", "8600"]
    assert main([*argv, "--host", "0.0.0.0"]) == 0
    [(command, env)] = started
    assert command == [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "dashboard" / "app.py"),
        "--server.fileWatcherType",
        "none",
        "--server.port",
        "8600",
        "--server.address",
        "0.0.0.0",
    ]
    assert env["GANLIB_RUNS"] == str(tmp_path / "exp" / "runs")
    assert env["GANLIB_CHECKPOINTS"] == str(tmp_path / "models")
    assert env["GANLIB_UPLOADS"] == str(tmp_path / "up")
    warning, banner = capsys.readouterr().err.splitlines()
    assert warning.startswith("warning: --host 0.0.0.0 ")
    assert all(word in warning for word in ("no login", "upload", "training runs", str(tmp_path / "exp" / "runs")))
    assert banner.startswith("ganlib dashboard: runs in ")


def test_by_default_runs_are_in_the_current_folder_and_the_app_keeps_its_own_settings(
    tmp_path, monkeypatch, capsys, started
):
    monkeypatch.chdir(tmp_path)
    assert main(["dashboard"]) == 0
    [(command, env)] = started
    assert env["GANLIB_RUNS"] == str(tmp_path / "runs")
    assert "GANLIB_CHECKPOINTS" not in env and "GANLIB_UPLOADS" not in env  # the app's defaults: bundled, beside runs
    # port and address come from Streamlit's default and dashboard/.streamlit/config.toml (localhost), not from here
    assert "--server.port" not in command and "--server.address" not in command
    assert "warning" not in capsys.readouterr().err


def test_an_exported_runs_folder_is_kept_when_no_flag_names_one(tmp_path, monkeypatch, started):
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "shared"))
    assert main(["dashboard", "--host", "localhost"]) == 0
    assert started[0][1]["GANLIB_RUNS"] == str(tmp_path / "shared")


def test_help_says_where_runs_are_looked_for(capsys):
    with pytest.raises(SystemExit):
        main(["dashboard", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "runs/ in the current folder" in text and "localhost only" in text


def test_without_the_dashboard_extra_one_line_says_what_to_install(monkeypatch, capsys, started):
    monkeypatch.setattr(dashboard_command, "EXTRA", ("streamlit", "no_such_module_for_ganlib_tests"))
    assert main(["dashboard"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "no_such_module_for_ganlib_tests" in line and "pip install 'ganlib[dashboard]'" in line
    assert started == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--port", "0"], "--port must be from 1 to 65535"),
        (["--port", "70000"], "--port must be from 1 to 65535"),
        (["--checkpoints", "missing"], "--checkpoints 'missing' is not a folder"),
        (["--runs", "a-file"], "--runs 'a-file' is not a folder"),
    ],
)
def test_bad_values_get_one_line(tmp_path, monkeypatch, capsys, started, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    assert main(["dashboard", *argv]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {message}")
    assert started == []


def test_the_app_imports_this_copy_whatever_the_current_folder_holds(monkeypatch, started):
    """A dashboard/ folder in the user's current directory must not replace the app: the current folder is left
    off sys.path, and a copy that is not in site-packages (this clone) goes on PYTHONPATH instead."""
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert main(["dashboard"]) == 0
    env = started[0][1]
    assert env["PYTHONSAFEPATH"] == "1"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT), "/elsewhere"]
    monkeypatch.setattr(dashboard_command.site, "getsitepackages", lambda: [str(ROOT)])  # as if installed
    assert main(["dashboard"]) == 0
    assert started[1][1]["PYTHONPATH"] == "/elsewhere"


def test_the_apps_streamlit_settings_travel_with_the_app():
    """One file, beside app.py (Streamlit 1.46+ reads it wherever the app is run from or installed)."""
    config = (ROOT / "dashboard" / ".streamlit" / "config.toml").read_text()  # no tomllib on 3.10
    for line in (
        'address = "localhost"',
        'showErrorDetails = "none"',
        "maxUploadSize = 64",
        'primaryColor = "#5b4bdb"',
    ):
        assert re.search(f"^{re.escape(line)}$", config, re.MULTILINE), line
    assert not (ROOT / ".streamlit").exists()  # a second copy would drift


def test_installed_the_app_finds_its_checkpoints_in_the_package_and_runs_in_the_current_folder(tmp_path, monkeypatch):
    from dashboard import services

    for name in ("GANLIB_RUNS", "GANLIB_CHECKPOINTS", "GANLIB_UPLOADS"):
        monkeypatch.delenv(name, raising=False)
    assert services.checkpoint_dir() == ROOT / "checkpoints"  # a clone
    assert services.runs_dir() == ROOT / "runs"
    monkeypatch.setattr(services, "IN_CLONE", False)
    monkeypatch.chdir(tmp_path)
    assert services.checkpoint_dir() == ROOT / "dashboard" / "checkpoints"  # where pyproject.toml installs them
    assert services.runs_dir() == tmp_path / "runs"
    assert services.upload_dir() == tmp_path / "uploads"
