"""Do the models and the migrations agree? ``python -m crawler.store.migrations.check [--url URL]``.

Upgrades an empty database to the head revision (a temporary SQLite file, or ``--url``: an empty
PostgreSQL database or schema) and runs Alembic's autogenerate comparison against the models. Exit 0
when there is no difference; exit 1 and every difference otherwise (a model change without its
revision, or a revision the models do not reflect). CI runs it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, create_engine, inspect
from sqlmodel import SQLModel

import crawler.store.models  # noqa: F401  (puts the tables on SQLModel.metadata)
from crawler.store.migrations import VERSION_TABLE, upgrade


def differences(connection: Connection, metadata: MetaData | None = None) -> list[Any]:
    """Alembic's diff between the database behind ``connection`` and the models (or ``metadata``);
    ``[]`` when they are equal."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE, "compare_type": True})
    return list(compare_metadata(ctx, SQLModel.metadata if metadata is None else metadata))


def check(url: str) -> list[Any]:
    """Upgrade the empty database at ``url`` to head, then compare it with the models."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = inspect(conn).get_table_names()
            if tables:
                raise SystemExit(f"check needs an empty database; {url.rsplit('@', 1)[-1]} holds {', '.join(tables)}")
            upgrade(conn)
        with engine.connect() as conn:
            return differences(conn)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.store.migrations.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an empty database to upgrade (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lp-check-") as tmp:
        diff = check(args.url or f"sqlite:///{Path(tmp) / 'check.db'}")
    if diff:
        print("the models and the migrations differ (add a revision: python -m crawler.store.migrations.revision):")
        for item in diff:
            print(f"  {item}")
        return 1
    print("the models and the migrations agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
