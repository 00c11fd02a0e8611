"""The server's first script runs, one at a time, until the libraries that pages import late are imported.

Pages import scikit-learn (the latent map, SVM directions), SciPy, torch's compiler stack (the first optimizer:
the 1-D game, inversion) and pandas on first use. Two sessions importing one of them at the same moment can meet a
half-initialised module (a render failed that way under load). Importing them all before the first page would cost
the first visitor several seconds of blank page, and importing them at the end of the first run kept that run going
(and the visitor's first click waiting) for as long again. So the first runs take turns, and once the first one has
drawn its page, a background thread imports the libraries one at a time, each only while no script runs or waits
(QUIET_SECONDS), holding the same turn: a click never waits for more than the one import under way. Every run after
the last import, in any session, goes straight through. The server's warm-up holds the imports off while it computes
the demo (which may import scikit-learn itself) and starts its other work once they are done.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time

LATE_IMPORTS = (
    "pandas",
    "pyarrow",
    "scipy.sparse",
    "scipy.linalg",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.manifold",
    "sklearn.svm",
    "sklearn.utils.extmath",
    "torch._dynamo",
    "plotly.graph_objects",
    "plotly.io._json",
    "plotly.io._utils",
)
QUIET_SECONDS = 2.0  # no script run for this long before each import: a visitor's next click comes first
IMPORTER_THREAD = "ganlib-late-imports"

_lock = threading.Lock()  # one script body, or one late import, at a time until _done
_done = threading.Event()
_importing = threading.Lock()  # one thread works through LATE_IMPORTS; a second caller waits for it
_held_off = threading.Lock()  # taken for each late import, and by work outside a script run that may import
_count = threading.Lock()
_runs = 0  # script runs inside or waiting for their turn
_last_run = time.monotonic()
_importer: threading.Thread | None = None
_pages = threading.Event()  # app.py has imported the pages (and with them torch) once in this process


def pages_imported() -> bool:
    """Whether an earlier run has imported the pages: app.py draws its frame before the imports until then."""
    return _pages.is_set()


def note_pages_imported() -> None:
    _pages.set()


@contextlib.contextmanager
def one_at_a_time():
    """Run a script's body; while the late imports are not done, only one session does so at a time, and the first
    body to finish starts the thread that imports them (after its page has been sent)."""
    if _done.is_set():
        yield
        return
    _note_run(+1)
    try:
        with _lock:
            yield
    finally:
        _note_run(-1)
    _start_importer()


def _note_run(change: int) -> None:
    global _runs, _last_run
    with _count:
        _runs += change
        _last_run = time.monotonic()


def _start_importer() -> None:
    global _importer
    with _count:
        if _importer is not None or _done.is_set():
            return
        _importer = threading.Thread(
            target=import_late_libraries, kwargs={"when_quiet": True}, name=IMPORTER_THREAD, daemon=True
        )
    _importer.start()


def import_late_libraries(when_quiet: bool = False) -> None:
    """Import LATE_IMPORTS, each holding the script runs' turn; with ``when_quiet``, each only once no script has
    run or waited for QUIET_SECONDS (the background thread's way, and the warm-up's before its own work). Returns
    once all are imported, by this thread or by another that was already at it."""
    with _importing:
        for name in LATE_IMPORTS:
            if _done.is_set():
                return
            if name in sys.modules:
                continue
            while True:
                if when_quiet:
                    _wait_for_quiet()
                with _held_off, _lock:
                    if when_quiet and _runs:  # a run came in between: it goes first
                        continue
                    with contextlib.suppress(ImportError):  # an optional extra that is missing is the page's business
                        importlib.import_module(name)
                    break
        _done.set()


@contextlib.contextmanager
def imports_held_off():
    """No late import starts during the block (one under way finishes first): for work outside a script run, such
    as the warm-up's, that may import one of the libraries itself."""
    with _held_off:
        yield


def _wait_for_quiet() -> None:
    while True:
        with _count:
            quiet_for = 0.0 if _runs else time.monotonic() - _last_run
        if quiet_for >= QUIET_SECONDS:
            return
        time.sleep(min(0.2, QUIET_SECONDS - quiet_for + 0.01))
