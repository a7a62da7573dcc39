"""The store suite runs over SQLite (a temporary file) and PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.store.crypto import Cipher
from crawler.store.database import Store, open_store
from tests.pg import pg_schema


@dataclass(frozen=True)
class Db:
    kind: str
    url: str
    schema: str = ""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        yield Db("sqlite", f"sqlite:///{tmp_path / 'store.db'}")
        return
    with pg_schema() as (url, schema):
        yield Db("postgresql", url, schema)


@pytest.fixture
def cipher() -> Cipher:
    return Cipher(os.urandom(32))


@pytest.fixture
def store(db: Db, cipher: Cipher) -> Iterator[Store]:
    s = open_store(db.url, cipher)
    yield s
    s.close()
