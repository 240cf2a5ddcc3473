"""Numbers as people read them in a table: significant digits, durations, counts. ``None``/NaN -> an en dash."""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any) -> str:
    """Two decimals from 1 up (FID 157.49), three significant digits below 1 (KID 0.0348); integers in full."""
    if _missing(value):
        return MISSING
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1e4):
        return f"{int(value):,}"
    if isinstance(value, float):
        if abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)


def integer(value: Any) -> str:
    """Counts (epochs, steps, batch sizes, network evaluations): whole numbers, even when pandas made them floats."""
    return MISSING if _missing(value) else f"{int(value):,}"


def with_spread(value: Any, std: Any) -> str:
    """``value ± std`` (the spread only where there is one)."""
    return number(value) if _missing(std) else f"{number(value)} ± {std:.2g}"


def with_interval(value: Any, std: Any, low: Any, high: Any) -> str:
    """``value [low, high]`` where there is an interval, else ``value ± std``."""
    if _missing(low) or _missing(high):
        return with_spread(value, std)
    return f"{number(value)} [{number(low)}, {number(high)}]"


def seconds(value: Any) -> str:
    """Sampling times from microseconds to minutes, three significant digits."""
    if _missing(value):
        return MISSING
    for scale, unit in ((60.0, "min"), (1.0, "s"), (1e-3, "ms")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-6:.3g} µs"


def duration(value: Any) -> str:
    """Training times: seconds, minutes or hours."""
    if _missing(value):
        return MISSING
    for scale, unit in ((3600.0, "h"), (60.0, "min")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"


def count(value: Any) -> str:
    """Parameter counts: 345 k, 89 M, 1.45 B."""
    if _missing(value):
        return MISSING
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{int(value)}"


def rate(value: Any) -> str:
    """Images per second: whole numbers when large."""
    if _missing(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def text(value: Any) -> str:
    return MISSING if _missing(value) or value == "" else str(value)
