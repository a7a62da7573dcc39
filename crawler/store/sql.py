"""Statements both dialects share but SQLAlchemy spells per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite


def insert_or_skip(model: Any, is_sqlite: bool) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model`` on SQLite or PostgreSQL: one round trip where
    an ``INSERT`` + ``IntegrityError`` + rollback would need three."""
    return (sqlite.insert(model) if is_sqlite else postgresql.insert(model)).on_conflict_do_nothing()
