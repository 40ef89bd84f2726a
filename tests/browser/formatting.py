"""The dashboard's number formats (hub/api/static/js/format.js), to check the screen by."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "–"


def _fixed(value: float, places: int = 1) -> str:
    """Format like JavaScript's toFixed: the exact binary value, halves rounded up."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _round(value: float) -> int:
    """Round like JavaScript's Math.round."""
    return math.floor(value + 0.5)


def formatted(value: Any, unit: str) -> str:
    """Return the text the dashboard shows for a value of a unit."""
    if value is None:
        return DASH
    if isinstance(value, dict):
        high = value.get("3", 0) + value.get("4", 0)
        total = sum(value.values())
        return f"{high} of {total} at OPEL 3–4" if total else DASH
    if unit == "percent":
        return f"{_fixed(value)}%"
    if unit == "minutes":
        if value < 120:
            return f"{_fixed(value)} min"
        total = _round(value)
        return f"{total // 60} h {total % 60} min"
    if unit == "seconds":
        total = _round(value)
        if total >= 3600:
            return f"{total // 3600} h {total % 3600 // 60} min"
        return f"{total // 60} min {total % 60} s"
    if unit == "hours":
        return f"{_fixed(value)} h"
    if unit == "level":
        return f"OPEL {value}"
    if isinstance(value, int) or float(value).is_integer():
        return f"{_round(value):,}"
    return _fixed(value)
