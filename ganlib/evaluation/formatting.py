"""How the report writes a number, the same in the readable report, the targets table and the model card."""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value, decimals: int = 0, unit: str = "%") -> str:
    """A fraction as a percentage ("94%"), or in another unit (" points"); "-" for a missing value."""
    return "-" if _missing(value) else f"{100 * value:.{decimals}f}{unit}"


def number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def significant(value) -> str:
    return "-" if value is None else f"{value:.4g}"
