"""Ship the bundled checkpoints' first-start results: ``python -m dashboard.bundled_cache`` (``make bundled-cache``).

A server's first start ever labels 2,000 faces, fits the demo's direction, measures its edit and finds and names
the components, about 30 s of CPU before the first visitor's "Add sunglasses" has what it needs. This command
computes what that start computes, as the server does (services.warm_up, then the Arithmetic page's first view
and the demo click's exemplar searches), and draws the demo's before/after rows and the Samples page's first grid,
in an empty cache folder of its own; it copies the checkpoint's ganlib.direction_cache and ganlib.picture_cache
files to ``<the checkpoint's folder>/first-start/<key>/`` (``--out`` elsewhere), where every server reads them when its
user cache has none. The key is the sha256 of the checkpoint and its classifier: a retrained
checkpoint's shipped folder is simply never read, and tests/test_bundled_cache.py fails until this command has
written the new one. Without arguments it does every bundled checkpoint, each in a process of its own, and removes
the folders of files that are no longer there.

    python -m dashboard.bundled_cache                                   # every bundled checkpoint
    python -m dashboard.bundled_cache checkpoints/toonfaces64.safetensors --out /tmp/shipped
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# the folders' files, no more: a hostile or stray file in the work folder is not shipped
SHIPPED_PREFIXES = ("labels-", "direction-", "components-", "measure-", "attribute_edit-", "samples-")
MAX_SHIPPED_BYTES = 1 << 20  # per checkpoint: the shipped files travel in the repository and the wheel


def build(checkpoint: Path, out: Path | None = None) -> Path:
    """Compute ``checkpoint``'s first-start results in a fresh cache folder and write them to ``out/<key>/``
    (default: the shipped folder beside the checkpoint), replacing what was there; the folder written. Once per
    process: services.warm_up starts once."""
    checkpoint = checkpoint.resolve()
    with tempfile.TemporaryDirectory(prefix="bundled-cache-") as work:
        # a copy of the file in a folder of its own (whatever is shipped beside the original is not read, so every
        # result is computed and lands in the work folder), an empty user cache, the warm-up on
        bundled = Path(work) / "checkpoints"
        bundled.mkdir()
        shutil.copyfile(checkpoint, bundled / checkpoint.name)
        os.environ.update(GANLIB_CACHE=work, GANLIB_CHECKPOINTS=str(bundled), GANLIB_WARM_UP="1")
        os.environ.update(GANLIB_RUNS=str(Path(work) / "runs"), GANLIB_UPLOADS=str(Path(work) / "uploads"))
        from dashboard import services, state
        from dashboard.arrivals import ARRIVALS
        from dashboard.views import analogies, attribute_edits

        entry = services.checkpoints().entry_for_path(bundled / checkpoint.name)
        if entry is None:
            raise SystemExit(f"{checkpoint}: not a checkpoint the dashboard lists")
        model = services.explorer(entry.id)
        if model.cache is None or model.cache.shipped is None:
            raise SystemExit(f"{checkpoint}: the explorer keeps no cache")
        thread = services.warm_up(entry.id, ARRIVALS)
        if thread is not None:
            thread.join()
        default = {name: value.default for name, value in state.URL_STATE.items()}
        first = default["seed"]  # the Samples page's first grid, as the page asks for it
        services.samples(entry.id, tuple(range(first, first + default["grid_size"])), default["truncation"])
        if model.classifier is not None:
            for concepts in analogies.EXAMPLE_ANALOGY.values():  # the Arithmetic page's first view
                services.exemplar_seeds(entry.id, concepts, default["exemplar_k"], 0, services.EXEMPLAR_SEARCH_LIMIT)
            demo = attribute_edits.DEMO
            for sign in "-+":  # the demo click's faces, and those of its undo (a negative strength)
                services.exemplar_seeds(entry.id, (sign + demo["direction"],), attribute_edits.EDIT_FACES, 0)
            faces = services.exemplar_seeds(entry.id, ("-" + demo["direction"],), attribute_edits.EDIT_FACES, 0)
            edit = (demo["direction"], demo["direction_method"], bool(demo["conditional"]), faces)
            services.attribute_edit(entry.id, *edit, (0.0, float(demo["strength"])))  # the demo's rows
        pictures = services.picture_root() / model.cache.key
        shipped = checkpoint.parent / model.cache.shipped.parent.name  # where a server looks beside the original
        return _copy([model.cache.folder, pictures], (out or shipped) / model.cache.key)


def _copy(folders: list[Path], target: Path) -> Path:
    files = sorted(
        path
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file() and path.name.startswith(SHIPPED_PREFIXES)
    )
    total = sum(p.stat().st_size for p in files)
    if total > MAX_SHIPPED_BYTES:
        raise SystemExit(f"{total:,} bytes to ship for {target.name}, over {MAX_SHIPPED_BYTES:,}: not written")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would keep the shipped folder from other users of the install
    for path in files:
        shutil.copyfile(path, staging / path.name)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def build_all(out: Path | None = None) -> list[Path]:
    """Every bundled checkpoint, each in a process of its own; then remove the folders under each shipped folder
    (``out``) that belong to no bundled file any more. The folders written."""
    from dashboard import services

    paths = [entry.path for entry in services.list_checkpoints() if entry.kind == "bundled"]
    written = []
    for path in paths:
        command = [sys.executable, "-m", "dashboard.bundled_cache", str(path)] + (["--out", str(out)] if out else [])
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        sys.stdout.write(done.stdout)
        if done.returncode:
            raise SystemExit(f"{path}: failed (exit status {done.returncode})")
        written.append(Path(done.stdout.strip().splitlines()[-1].rsplit(" in ", 1)[1]))
    for parent in {folder.parent for folder in written}:
        for stale in parent.iterdir():
            if re.fullmatch("[0-9a-f]{64}", stale.name) and stale not in written:
                shutil.rmtree(stale)
                print(f"removed {stale} (no bundled checkpoint has that key)")
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.bundled_cache", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, nargs="?", help="one checkpoint (default: every bundled one)")
    parser.add_argument("--out", type=Path, help="where <key>/ goes (default: first-start/ beside the checkpoint)")
    args = parser.parse_args(argv)
    from streamlit import logger

    logger.set_log_level("error")  # "No runtime found": the app's cached functions run outside a server here
    if args.checkpoint is None:
        build_all(args.out)
        return 0
    folder = build(args.checkpoint, args.out)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{args.checkpoint}: {len(list(folder.iterdir()))} files, {size / 1024:.0f} KB in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
