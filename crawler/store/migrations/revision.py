"""Write the next revision: ``python -m crawler.store.migrations.revision -m "what changes"``.

Alembic's ``revision --autogenerate`` against a temporary SQLite database upgraded to the current
head, so the new file holds exactly what the models add. Revision ids count up (``0002``, ``0003``, …).
Read and edit the result before committing it (see this package's docstring).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from crawler.store.migrations import alembic_config


def next_revision_id(script: ScriptDirectory) -> str:
    head = script.get_current_head()  # "0002", or "0003_partner_feedback" (named ahead of time)
    return f"{int(head.split('_', 1)[0]) + 1:04d}" if head else "0001"


def write_revision(message: str, *, autogenerate: bool = True) -> Path:
    """Generate the revision file after the current head and return its path."""
    with tempfile.TemporaryDirectory(prefix="lp-revision-") as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'head.db'}")
        try:
            with engine.begin() as conn:
                cfg = alembic_config(conn)
                script = ScriptDirectory.from_config(cfg)
                if script.get_current_head():
                    command.upgrade(cfg, "head")
                made = command.revision(cfg, message, autogenerate=autogenerate, rev_id=next_revision_id(script))
        finally:
            engine.dispose()
    assert made is not None and not isinstance(made, list)
    return Path(made.path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.store.migrations.revision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--message", required=True, help="what the revision changes (becomes the file name)")
    parser.add_argument("--empty", action="store_true", help="an empty revision (data migrations), no autogenerate")
    args = parser.parse_args(argv)
    path = write_revision(args.message, autogenerate=not args.empty)
    print(f"wrote {path}; read and edit it, then run python -m crawler.store.migrations.check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
