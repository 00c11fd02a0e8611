"""Start the dashboard's server with its first visitor's work already under way: ``python -m dashboard.serve
[streamlit run flags]`` is ``streamlit run dashboard/app.py [flags]`` plus a background thread, started before the
server, that imports the app (torch and ganlib: about 2 s of CPU here) and warms up the default checkpoint
(services.warm_up: the model and the talk demo's direction). With plain ``streamlit run`` all of that waits for the
first browser to connect, and the audience watches it. `make run` and `ganlib dashboard` start the app this way.

Streamlit runs app.py in this same process, so the modules the thread imported are the ones the pages use, and a
page that asks for the model while the thread is still loading it waits for that load (st.cache_resource computes
each value once) instead of loading it twice.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def preload() -> None:
    """Import the app's modules and warm up the default checkpoint. Best effort: whatever fails here, the first
    page load does again, and reports."""
    with contextlib.suppress(Exception):
        # the pages' modules (and so torch and ganlib); not navigation, whose st.Page objects need a script run
        from dashboard import services, sidebar  # noqa: F401
        from dashboard.arrivals import ARRIVALS
        from dashboard.views import arithmetic, gan_game, interpolate, latent_map, samples, training  # noqa: F401

        choices = services.list_checkpoints()
        if choices:
            services.warm_up(choices[0].id, ARRIVALS)


def main(argv: list[str]) -> int:
    threading.Thread(target=preload, name="ganlib-preload", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
