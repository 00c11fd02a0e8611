"""``ganlib dashboard``: the Streamlit app (dashboard/) on your own runs and checkpoints, as ``tensorboard --logdir
runs`` opens TensorBoard on yours.

The command sets the folders the app reads (GANLIB_RUNS, GANLIB_CHECKPOINTS, GANLIB_UPLOADS: dashboard/services.py)
and runs ``python -m streamlit run dashboard/app.py``. The app's Streamlit settings (localhost only, no tracebacks
for visitors, the upload limit, the theme) are not repeated here: they live in dashboard/.streamlit/config.toml,
which Streamlit reads beside the script wherever it is installed. This adds only what was asked for (port,
address) and turns off the file watcher, since installed files do not change while the app runs.

ganlib never imports streamlit: the app runs in a process of its own.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import site
import subprocess
import sys
from pathlib import Path

# ganlib/ and dashboard/ lie side by side, in a clone as in site-packages: the app is found beside this package, not
# by importing "dashboard", which a folder of that name in the current directory could answer.
PACKAGES_FOLDER = Path(__file__).resolve().parent.parent  # holds ganlib/ and dashboard/
APP = PACKAGES_FOLDER / "dashboard" / "app.py"
EXTRA = ("streamlit", "plotly")  # pyproject.toml's "dashboard" extra
INSTALL_EXTRA = "pip install 'ganlib[dashboard]'"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def add_command(commands) -> None:
    parser = commands.add_parser(
        "dashboard",
        help="open the dashboard on your runs and checkpoints (like tensorboard --logdir)",
        description="Start the dashboard in your browser, on the training runs in --runs and the bundled checkpoints "
        "(or those in --checkpoints). It listens on localhost only unless --host says otherwise. Stop it with Ctrl-C.",
        epilog="examples:\n"
        "  ganlib dashboard                      # ./runs, the bundled checkpoints, http://localhost:8501\n"
        "  ganlib dashboard --runs ~/gan/runs --checkpoints ~/gan/models --port 8600\n"
        "  ganlib dashboard --host 0.0.0.0       # on purpose: anyone who can reach this machine can use it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--runs",
        metavar="DIR",
        help="training runs to list, follow and start (default: $GANLIB_RUNS, or runs/ in the current folder, where "
        "`ganlib train` writes them; created by the first run)",
    )
    parser.add_argument("--checkpoints", metavar="DIR", help="checkpoint files to offer instead of the bundled ones")
    parser.add_argument(
        "--uploads",
        metavar="DIR",
        help="where uploaded checkpoints are kept (default: uploads/ beside the runs folder)",
    )
    parser.add_argument("--port", type=int, help="port to serve on (default: 8501, or the next free one)")
    parser.add_argument(
        "--host",
        metavar="ADDR",
        help="address to listen on (default: localhost only). 0.0.0.0 serves every network this machine is on; "
        "the app has no login",
    )
    parser.set_defaults(handler=run)


def missing_packages() -> list[str]:
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def streamlit_command(args) -> list[str]:
    """``python -m streamlit run .../dashboard/app.py`` with the flags this run asks for."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.fileWatcherType", "none"]
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise ValueError(f"--port must be from 1 to 65535, got {args.port}")
        command += ["--server.port", str(args.port)]
    if args.host is not None:
        command += ["--server.address", args.host]
    return command


def _folder(value: str, flag: str, must_exist: bool = False) -> Path:
    path = Path(value).expanduser().resolve()
    if (path.exists() and not path.is_dir()) or (must_exist and not path.exists()):
        raise ValueError(f"{flag} {value!r} is not a folder")
    return path


def app_environment(args, environ) -> dict[str, str]:
    """The app's environment: the caller's, with the folders given (as absolute paths) and an import path that
    reaches this installation's ganlib and dashboard."""
    env = dict(environ)
    env["GANLIB_RUNS"] = str(_folder(args.runs or environ.get("GANLIB_RUNS") or "runs", "--runs"))
    if args.checkpoints:
        env["GANLIB_CHECKPOINTS"] = str(_folder(args.checkpoints, "--checkpoints", must_exist=True))
    if args.uploads:
        env["GANLIB_UPLOADS"] = str(_folder(args.uploads, "--uploads"))
    # `python -m` puts the current folder first on sys.path, where a dashboard/ or ganlib/ folder of the user's own
    # would shadow the installed app; PYTHONSAFEPATH (Python 3.11+) leaves it out. A clone that is not installed
    # (or not the one an editable install points to) then goes on PYTHONPATH, so the app imports this copy.
    env["PYTHONSAFEPATH"] = "1"
    paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    site_folders = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if PACKAGES_FOLDER not in site_folders and PACKAGES_FOLDER not in {Path(p).resolve() for p in paths}:
        env["PYTHONPATH"] = os.pathsep.join([str(PACKAGES_FOLDER), *paths])
    return env


def exposure_warning(args, runs: str) -> str | None:
    if args.host is None or args.host in LOCAL_HOSTS:
        return None
    return (
        f"warning: --host {args.host} serves the dashboard to anyone who can reach this machine, with no login: "
        f"they can upload checkpoints, start and stop training runs (on any image folder this account can read) and "
        f"see every run in {runs}"
    )


def run(args) -> int:
    missing = missing_packages()
    if missing:
        print(f"error: the dashboard needs {' and '.join(missing)}: {INSTALL_EXTRA}", file=sys.stderr)
        return 2
    command, env = streamlit_command(args), app_environment(args, os.environ)
    warning = exposure_warning(args, env["GANLIB_RUNS"])
    if warning:
        print(warning, file=sys.stderr)
    folders = [f"runs in {env['GANLIB_RUNS']}"]
    folders += [f"checkpoints in {env['GANLIB_CHECKPOINTS']}"] if args.checkpoints else []
    folders += [f"uploads in {env['GANLIB_UPLOADS']}"] if args.uploads else []
    print(f"ganlib dashboard: {', '.join(folders)}", file=sys.stderr, flush=True)
    return start(command, env)


def start(command: list[str], env: dict[str, str]) -> int:
    if os.name == "posix":  # the server takes this process's place: Ctrl-C, kill and the exit status reach it directly
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env)
