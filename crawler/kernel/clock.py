"""The one clock helper: timezone-aware UTC now, and the ``…Z`` ISO-8601 form leakpatrol writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utcnow() -> datetime:
    """Now, timezone-aware UTC (every stored and compared moment is UTC)."""
    return datetime.now(UTC)


@overload
def iso(when: datetime, *, precise: bool = ...) -> str: ...
@overload
def iso(when: None, *, precise: bool = ...) -> None: ...
@overload
def iso(when: datetime | None, *, precise: bool = ...) -> str | None: ...


def iso(when: datetime | None, *, precise: bool = False) -> str | None:
    """``2026-11-28T22:00:00Z`` (whole seconds; ``precise`` keeps microseconds), or ``None``.

    A naive datetime is taken as UTC (SQLite hands some back that way)."""
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if not precise:
        when = when.replace(microsecond=0)
    return when.isoformat().replace("+00:00", "Z")
