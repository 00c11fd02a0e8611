"""The server's first script runs, one at a time, until the libraries that pages import late are imported.

Pages import scikit-learn (the latent map, SVM directions), SciPy, torch's compiler stack (the first optimizer:
the 1-D game, inversion) and pandas on first use. Two sessions importing one of them at the same moment can meet a
half-initialised module (a render failed that way under load). Importing them all before the first page would cost
the first visitor several seconds of blank page. So the first runs take turns: each draws its page, and the run
that finishes first imports the rest after its page is on screen. Every later run, in any session, goes straight
through.
"""

from __future__ import annotations

import contextlib
import importlib
import threading

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

_lock = threading.Lock()
_done = threading.Event()


@contextlib.contextmanager
def one_at_a_time():
    """Run a script's body; while the late imports are not done, only one session does so at a time, and the first
    body to finish imports them (after its page has been sent) before it lets the next one in."""
    if _done.is_set():
        yield
        return
    with _lock:
        yield
        import_late_libraries()


def import_late_libraries() -> None:
    if _done.is_set():
        return
    for name in LATE_IMPORTS:
        with contextlib.suppress(ImportError):  # an optional extra that is missing is the page's business
            importlib.import_module(name)
    _done.set()
