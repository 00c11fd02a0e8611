"""The one-line checks every ``ganlib`` command applies to its values: a number's range and a file to write."""

from __future__ import annotations

import os
from pathlib import Path


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_range(value, low, high, flag: str) -> None:
    """One line for a value out of [low, high] (NaN included, since every comparison with it is false)."""
    if not low <= value <= high:
        raise ValueError(f"{flag} must be from {_number(low)} to {_number(high)}, got {value!r}")


def output_file(out: str, suffixes: tuple[str, ...], flag: str = "--out") -> Path:
    """The file to write, refusing an empty name, a folder, or a suffix the writer cannot produce."""
    if not out.strip():
        raise ValueError(f"{flag} is empty; give a file name such as grid{suffixes[0]}")
    path = Path(out).expanduser()
    if path.is_dir():
        raise ValueError(f"{flag} {out!r} is a folder; give a file name such as {path / ('grid' + suffixes[0])}")
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} {out!r} must be a file name ending in {' or '.join(suffixes)}")
    return path


def not_an_input(out: Path, inputs, flag: str = "--out") -> None:
    """Refuse to write over a file the command reads (another name or a link for it included): a copy never
    replaces its original, whatever happens while it is written."""
    for given in inputs:
        if given is None:
            continue
        try:
            same = os.path.samefile(out, Path(given).expanduser())
        except OSError:  # one of them does not exist: there is nothing to overwrite
            continue
        if same:
            raise ValueError(f"{flag} {str(out)!r} is the input file {str(given)!r}; write the copy to another name")
