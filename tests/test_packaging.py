"""The project as a user gets it from ``pip install .``: a wheel built from a copy of this tree, installed (without
dependencies) into a fresh virtualenv that borrows this environment's packages (torch, streamlit), so nothing is
downloaded, then ``ganlib dashboard`` started from a folder outside the clone.

The wheel tests are slow (about 20 s together: build, install, server start) and are skipped by ``make test-fast``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, READY, free_port

ROOT = Path(__file__).resolve().parent.parent
# What `pip install .` leaves in or beside a tree, and what a clone holds that is not the project's source
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs", "uploads", "artifacts"
)
BUNDLED = sorted(p.name for p in (ROOT / "checkpoints").glob("*.safetensors"))


def test_pyproject_lists_every_package_folder():
    """pyproject.toml names its packages by hand (the bundled checkpoints map to dashboard/checkpoints): a new
    package folder must be added there, or the wheel would ship without it (and a data folder such as
    ganlib/assets/, or setuptools warns that it "would be ignored")."""
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(folder.relative_to(ROOT).parts)
        for package in ("ganlib", "dashboard")
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir()
        and "__pycache__" not in folder.parts
        and all(part.isidentifier() for part in folder.relative_to(ROOT).parts)  # .streamlit/ is data, not a package
    }
    assert set(setuptools["packages"]) == folders | {"dashboard.checkpoints"}
    assert setuptools["package-dir"] == {"dashboard.checkpoints": "checkpoints"}


def _run(command, **kwargs) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if os.name != "posix":
        pytest.skip("builds a venv with bin/ and stops the server by its process group")
    pytest.importorskip("setuptools", reason="the wheel is built without build isolation (nothing downloaded)")
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # a stale build/ in the clone must not leak into the wheel
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
          "-q", "-w", str(base / "dist")])  # fmt: skip
    [wheel] = (base / "dist").glob("ganlib-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    # This environment's packages as plain path entries: their .pth files (an editable install of ganlib from a
    # clone among them) are not run, and the venv's own site-packages, with the wheel's ganlib, comes first.
    borrowed = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (Path(purelib) / "borrowed_test_environment.pth").write_text("\n".join(borrowed) + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(wheel)])
    # Outside the clone, with nothing pointing back into it
    user = base / "user"
    user.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANLIB_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(STREAMLIT_SERVER_HEADLESS="true", OMP_NUM_THREADS="1", GANLIB_CACHE=str(base / "cache"))
    return {"wheel": wheel, "venv": venv, "python": python, "user": user, "env": env}


@pytest.fixture(scope="module")
def server(installed):
    """``ganlib dashboard --port P --runs DIR``, as a user types it in their own folder."""
    port, runs = free_port(), installed["user"] / "my-runs"
    log = (installed["user"] / "server.log").open("w")
    process = subprocess.Popen(
        [str(installed["venv"] / "bin" / "ganlib"), "dashboard", "--port", str(port), "--runs", str(runs)],
        cwd=installed["user"],
        env=installed["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"ganlib dashboard did not answer: {(installed['user'] / 'server.log').read_text()[-3000:]}")
    yield {"url": url, "port": port, "runs": runs, "log": installed["user"] / "server.log", "pid": process.pid}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.mark.slow
def test_the_wheel_carries_the_app_its_settings_and_the_bundled_checkpoints(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    sources = {str(p.relative_to(ROOT)) for package in ("ganlib", "dashboard") for p in (ROOT / package).rglob("*.py")}
    assert sources <= names
    assert {f"dashboard/checkpoints/{name}" for name in BUNDLED} <= names
    assert {"dashboard/.streamlit/config.toml", "ganlib/assets/toonfaces_classifier.safetensors"} <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith(("tests/", "checkpoints/"))]
    assert installed["wheel"].stat().st_size < 20 * 2**20


@pytest.mark.slow
def test_the_installed_app_uses_its_own_files_and_lists_the_bundled_checkpoints(installed):
    script = (
        "import json, ganlib; from dashboard import services; "
        "print(json.dumps({'ganlib': ganlib.__file__, 'services': services.__file__, "
        "'checkpoints': str(services.checkpoint_dir()), 'runs': str(services.runs_dir()), "
        "'ids': [e.id for e in services.list_checkpoints()]}))"
    )
    found = json.loads(_run([str(installed["python"]), "-c", script], cwd=installed["user"], env=installed["env"]))
    venv = str(installed["venv"])
    assert found["ganlib"].startswith(venv) and found["services"].startswith(venv)  # the wheel's, not the clone's
    assert found["checkpoints"].startswith(venv)
    assert found["runs"] == str(installed["user"] / "runs")
    assert found["ids"] == ["bundled/toonfaces64", "bundled/toonfaces32", "bundled/digits32"]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:] if Path(table).exists() else []:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state == "0A" and int(local_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.slow
def test_ganlib_dashboard_serves_the_app_on_localhost_only(server):
    page = urllib.request.urlopen(server["url"], timeout=10).read().decode()
    assert '<div id="root">' in page  # the Streamlit shell; the browser test below renders it
    assert f"ganlib dashboard: runs in {server['runs']}" in server["log"].read_text()
    if Path("/proc/net/tcp").exists():  # server.address from dashboard/.streamlit/config.toml, read when installed
        assert _listening_addresses(server["port"]) <= {"0100007F", "00000000000000000000000001000000"}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_the_installed_app_renders_on_the_bundled_checkpoint(server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(server["url"])
        page.wait_for_selector(READY)
        playwright_api.expect(page.get_by_test_id("stImage")).to_have_count(16)
        playwright_api.expect(page.locator(".st-key-_checkpoint_choice input")).to_have_value("bundled: toonfaces64")
        playwright_api.expect(page.get_by_test_id("stException")).to_have_count(0)
        browser.close()
