"""Durations as the config writes them: ``"500ms"``, ``"30s"``, ``"5m"``, ``"1h"``, ``"7d"`` or seconds."""

from __future__ import annotations

import re

# One number and one unit; anchored, no nested quantifiers: linear on any input.
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def parse_duration(value: object) -> float:
    """Return seconds; raise ``ValueError`` naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"30s\", \"5m\", \"1h\", \"7d\" or a number of seconds")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.fullmatch(value)
        if m:
            return float(m.group(1)) * _UNIT[m.group(2)]
    raise ValueError(
        f"{value!r} is not a duration; use \"500ms\", \"30s\", \"5m\", \"1h\", \"7d\" or a number of seconds"
    )


def format_duration(seconds: float) -> str:
    """Render seconds the way a person reads them (``90`` → ``"1m30s"``)."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    out, rest = [], round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out[:2])
