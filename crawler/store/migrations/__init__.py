"""Schema migrations (Alembic), applied by :meth:`crawler.store.database.Store.migrate` on every start.

There is no ``alembic.ini``: :func:`alembic_config` builds the configuration in code, with this folder
as ``script_location``; ``env.py`` takes the connection from ``config.attributes["connection"]``.
The revision is kept in ``lp_alembic_version`` (prefixed like every leakpatrol table, so a database
shared with another Alembic application does not collide).

Revisions are frozen: they spell out every table, column and index with ``sqlalchemy`` types and
never import :mod:`crawler.store.models`, so what a revision does cannot change when the models do.
``0001_baseline`` is the schema leakpatrol created before Alembic (``create_all``, ``schema_version``
1); :func:`upgrade` recognises such a database and records it at the baseline instead of re-creating it.

Adding a revision
-----------------
1. Change the models in ``crawler/store/models.py``.
2. Generate the revision (Alembic's ``revision --autogenerate`` against a temporary SQLite database
   upgraded to the current head)::

       python -m crawler.store.migrations.revision -m "add the foo column to tokens"

   It writes ``versions/NNNN_add_the_foo_column_to_tokens.py`` (the next number after the head).
3. Read and edit it: autogenerate misses renames, server defaults and data moves, and writes
   ``batch_alter_table`` blocks (needed on SQLite, plain ALTERs on PostgreSQL). Never edit a
   revision that has been released; add another.
4. Check that models and migrations agree (CI runs this; exit 1 and the differences if not)::

       python -m crawler.store.migrations.check [--url postgresql+psycopg://…/empty_db]

   and run ``pytest tests/store`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from crawler.kernel.errors import StoreError

SCRIPT_LOCATION = Path(__file__).resolve().parent
VERSION_TABLE = "lp_alembic_version"
BASELINE = "0001"
BASELINE_TABLES = frozenset({"lp_meta", "lp_token", "lp_sighting", "lp_verification", "lp_delivery",
                             "lp_source_state", "lp_notifier_state"})
LEGACY_KEY = "schema_version"
"""``lp_meta.schema_version``: what leakpatrol before Alembic read. It is kept up to date as a guard:
``"1"`` while the database is at the baseline (the same schema, so an older leakpatrol may still run
on it), ``"2"`` past it (an older leakpatrol then refuses it: "schema v2 is newer than this leakpatrol")."""


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: the revision found (``None`` for an empty database) and the head."""

    before: str | None
    after: str
    adopted: bool = False  # a pre-Alembic database recorded at the baseline


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code. With ``connection``, ``env.py`` migrates through it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this leakpatrol knows."""
    rev = scripts().get_current_head()
    assert rev is not None, "no migration scripts found"
    return rev


def current(connection: Connection) -> tuple[str, ...]:
    """The revision(s) recorded in the database; ``()`` when it has none."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(ctx.get_current_heads())


def upgrade(connection: Connection) -> Upgrade:
    """Bring the database to the head revision inside the connection's transaction (the caller
    commits, and on PostgreSQL holds the migration lock). A database from before Alembic is recorded
    at the baseline first; a revision this leakpatrol does not know is a :class:`StoreError`."""
    cfg = alembic_config(connection)
    script = ScriptDirectory.from_config(cfg)
    target = script.get_current_head()
    assert target is not None, "no migration scripts found"
    found = current(connection)
    adopted = False
    if not found and _pre_alembic(connection):
        command.stamp(cfg, BASELINE)
        found, adopted = (BASELINE,), True
    known = {s.revision for s in script.walk_revisions()}
    unknown = [rev for rev in found if rev not in known]
    if unknown:
        raise StoreError(f"the database is at schema revision {', '.join(unknown)}, which this leakpatrol does "
                         f"not know (its newest is {target}): it was migrated by a newer leakpatrol; "
                         "run that version (or newer) against it")
    if found != (target,):
        command.upgrade(cfg, "head")
    _write_legacy_guard(connection, target)
    return Upgrade(found[0] if found else None, target, adopted)


def _pre_alembic(connection: Connection) -> bool:
    """``True`` for a database that leakpatrol created before Alembic (``schema_version`` 1, every
    table present); ``False`` for one without leakpatrol tables. Anything else is refused, never
    re-created."""
    ours = {t for t in inspect(connection).get_table_names() if t.startswith("lp_")}
    if not ours:
        return False
    version = None
    if "lp_meta" in ours:
        version = connection.execute(text('SELECT value FROM lp_meta WHERE "key" = :k'), {"k": LEGACY_KEY}).scalar()
    if version == "1" and ours >= BASELINE_TABLES:
        return True
    if version is not None and version.isdigit() and int(version) > 1:
        raise StoreError(f"database schema v{version} is newer than this leakpatrol, and it has no "
                         f"{VERSION_TABLE} table; run the leakpatrol that created it")
    missing = ", ".join(sorted(BASELINE_TABLES - ours)) or "none"
    raise StoreError(f"the database holds leakpatrol tables ({', '.join(sorted(ours))}) but no schema revision "
                     f"(lp_meta.{LEGACY_KEY} = {version!r}, missing tables: {missing}); it was not made by a "
                     "leakpatrol this version can upgrade, so it is left untouched")


def _write_legacy_guard(connection: Connection, target: str) -> None:
    value = "1" if target == BASELINE else "2"
    params = {"k": LEGACY_KEY, "v": value}
    old = connection.execute(text('SELECT value FROM lp_meta WHERE "key" = :k'), params).scalar()
    if old is None:
        connection.execute(text('INSERT INTO lp_meta ("key", value) VALUES (:k, :v)'), params)
    elif old != value:
        connection.execute(text('UPDATE lp_meta SET value = :v WHERE "key" = :k'), params)
