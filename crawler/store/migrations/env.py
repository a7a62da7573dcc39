"""Alembic's environment for leakpatrol. Alembic runs this file for every command; the connection
always comes from ``config.attributes["connection"]`` (see :func:`crawler.store.migrations.alembic_config`):
``Store.migrate`` passes the store's, the ``revision`` and ``check`` helpers a temporary database's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from crawler.store.migrations import VERSION_TABLE
from crawler.store.models import UTCDateTime

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

target_metadata = SQLModel.metadata  # every table of crawler.store.models (imported above)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes plain ``sqlalchemy`` types, so a revision never imports the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite has no ALTER for most changes
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or _connection is None:
    raise RuntimeError("leakpatrol migrates through a connection given in config.attributes['connection']; "
                       "see crawler/store/migrations/__init__.py for the commands")
run(_connection)
