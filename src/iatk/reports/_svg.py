"""Small helpers for hand-written SVG: escaping, number formatting, "nice" axis steps."""

from __future__ import annotations

import math
from html import escape

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def text(value: object) -> str:
    """Text safe inside an SVG/HTML element or attribute."""
    return escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate with at most one decimal (smaller files, same picture)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_step(span: float, ticks: int = 6) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` intervals over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def seconds_label(value: float) -> str:
    """``850 ms``, ``1.2 s``: a time axis label."""
    if value == 0:
        return "0"
    if abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.3g} s"
