"""The schema of a checkpoint's JSON metadata, checked on every load.

Checkpoints come from strangers, and their metadata is shown on model cards, printed by ``ganlib info`` and read
by the explorer. ``check_metadata`` makes sure each known field has the type its readers expect and that the
whole document is small and shallow, so that a file which passes can be rendered without surprises. Every text,
keys included, at any depth, is printable Unicode: a lone surrogate cannot be encoded (printing or rendering it
raises) and a control character rewrites a terminal. Fields this version does not know are allowed (newer files stay
readable) but count toward the same size, depth and text bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_METADATA_BYTES = 1 << 20  # 1 MiB of JSON: a real file's metadata is about 5 KB
MAX_DEPTH = 12  # real files nest 4 deep
MAX_TEXT = 4000  # characters in any one string, notes included: a model card is not a document
MAX_ITEMS = 2000  # entries in any one object or list
# What no text may hold: C0 and C1 control characters (line feed and tab excepted; a carriage return or an escape
# sequence lets a file overwrite what a terminal shows) and lone surrogates, which are not Unicode text at all
UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class ListOf:
    item: object


@dataclass(frozen=True)
class MapOf:
    value: object


NUMBER = "number"  # int or float (NaN allowed: a diverged run's last stats), never bool
OBJECT = "object"  # any JSON object; only the global bounds apply

SCHEMA = {
    "format": str,
    "format_version": int,
    "ganlib_version": str,
    "created": str,
    "dtype": str,
    "has_discriminator": bool,
    "sample_seed": int,
    "notes": str,
    "model": {
        "image_size": int,
        "channels": int,
        "latent_dim": int,
        "generator_width": int,
        "discriminator_width": int,
    },
    "dataset": {"name": str, "num_images": int, "channels": int, "image_size": int, "attributes": MapOf(ListOf(str))},
    "training": {
        "steps": int,
        "images_seen": int,
        "device": str,
        "precision": str,
        "wall_seconds": NUMBER,
        "finished": bool,
        "final_stats": MapOf(NUMBER),
        "config": OBJECT,
        "history": ListOf(OBJECT),
        "ema": bool,
        "torch_version": str,
        "world_size": int,
    },
    "evaluation": {
        "summary": MapOf(str),
        "fd": NUMBER,
        "fd_real_baseline": NUMBER,
        "fd_ratio": NUMBER,
        "n": int,
        "seed": int,
        "strength": NUMBER,
        "date": str,
    },
    "optimizers": OBJECT,
}
REQUIRED = ("format", "format_version")
TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", NUMBER: "a number", OBJECT: "an object"}


class SchemaError(ValueError):
    """One line: which field, and what is wrong with it."""


def check_metadata(metadata, schema: dict | None = SCHEMA) -> None:
    """Raise SchemaError unless ``metadata`` (parsed JSON) fits the size and depth bounds and ``schema`` (None: the
    bounds and the required fields only, for file kinds that check their own fields, such as the classifier)."""
    if not isinstance(metadata, dict):
        raise SchemaError(f"metadata must be a JSON object, got {_describe(metadata)}")
    _check_bounds(metadata)
    for name in REQUIRED:
        if name not in metadata:
            raise SchemaError(f"metadata has no {name!r} field")
        _check(metadata[name], SCHEMA[name], f"metadata.{name}")
    if schema is not None:
        _check(metadata, schema, "metadata")


def check_text(text: str, where: str) -> None:
    """Raise SchemaError unless ``text`` is at most MAX_TEXT printable characters; ``where`` names it in the message
    (``metadata.notes``, or a flag such as ``--notes`` before a writer builds its metadata)."""
    if len(text) > MAX_TEXT:
        raise SchemaError(f"{where} is {len(text):,} characters long (at most {MAX_TEXT:,})")
    bad = UNPRINTABLE.search(text)
    if bad is not None:
        code = ord(bad.group())
        what = "a lone surrogate, which is not valid Unicode" if 0xD800 <= code <= 0xDFFF else "a control character"
        raise SchemaError(f"{where} holds U+{code:04X}, {what} (texts must be printable)")


def _check_bounds(document) -> None:
    """Depth, item counts and texts (keys included), iteratively (no recursion for a hostile depth to exhaust). Each
    entry's place is kept as a (parent, key) chain, cheap to extend."""
    stack = [(document, 1, None)]
    while stack:
        value, depth, place = stack.pop()
        if depth > MAX_DEPTH:
            raise SchemaError(f"metadata is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            if len(value) > MAX_TEXT or UNPRINTABLE.search(value):  # the place is spelled out only for a message
                check_text(value, _where(place))
        elif isinstance(value, (dict, list)):
            if len(value) > MAX_ITEMS:
                raise SchemaError(
                    f"{_where(place)} is {'an object' if isinstance(value, dict) else 'a list'} of "
                    f"{len(value):,} entries (at most {MAX_ITEMS:,})"
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (len(key) > MAX_TEXT or UNPRINTABLE.search(key)):
                    check_text(key, f"a key in {_where(place)}")
                stack.append((item, depth + 1, (place, key)))


def _where(place) -> str:
    """``metadata.training.history[3]`` from a (parent, key) chain; long keys are cut short, and a key that is not
    printable on one line (a newline, a control character, a lone surrogate) is written escaped: ``["\\n"]``."""
    parts = []
    while place is not None:
        place, key = place
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            short = key if len(key) <= 40 else key[:40] + "…"
            parts.append("." + short if short.isprintable() else f"[{short!r}]")
    return "metadata" + "".join(reversed(parts))


def _check(value, expected, where: str) -> None:
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            raise SchemaError(f"{where} must be an object, got {_describe(value)}")
        for name, inner in expected.items():
            if name in value:
                _check(value[name], inner, f"{where}.{name}")
    elif isinstance(expected, ListOf):
        if not isinstance(value, list):
            raise SchemaError(f"{where} must be a list, got {_describe(value)}")
        for index, item in enumerate(value):
            _check(item, expected.item, f"{where}[{index}]")
    elif isinstance(expected, MapOf):
        if not isinstance(value, dict):
            raise SchemaError(f"{where} must be an object, got {_describe(value)}")
        for name, item in value.items():
            _check(item, expected.value, f"{where}.{name}")
    elif not _is(value, expected):
        raise SchemaError(f"{where} must be {TYPE_NAMES[expected]}, got {_describe(value)}")


def _is(value, expected) -> bool:
    if expected is OBJECT:
        return isinstance(value, dict)
    if expected is NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is bool:
        return isinstance(value, bool)
    return isinstance(value, expected)


def _describe(value) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, (int, float)):
        return f"the number {value!r}" if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return f"the text {value[:20]!r}" + ("…" if len(value) > 20 else "")
    return "a list" if isinstance(value, list) else "an object"
