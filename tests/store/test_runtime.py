"""DESIGN.md's key rules through ``open_runtime``: a missing key file is created only while the store
holds no token; with tokens stored, a missing or wrong key is a clear error, never a silent re-key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from crawler.config.model import Config
from crawler.kernel.errors import EncryptionKeyError
from crawler.plugins import build_config
from crawler.store.crypto import generate_key
from crawler.store.runtime import open_runtime
from tests.store.conftest import Db
from tests.store.helpers import new_token, record

KEY_ENV = "LP_TEST_STORE_KEY"


def config(db: Db, key_file: Path) -> Config:
    return build_config({"storage": {"url": db.url, "key_env": KEY_ENV, "key_file": str(key_file)}})


def test_a_missing_key_file_is_created_0600_while_the_store_is_empty(db: Db, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "leakpatrol.key"
    store = open_runtime(config(db, key_file), create_key=True)
    try:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().startswith("lpkey1:")
        token = new_token()
        tid = record(store, token).token_id
    finally:
        store.close()
    again = open_runtime(config(db, key_file), create_key=True)
    try:
        assert again.reveal(again.token(tid)) == token
    finally:
        again.close()


def test_no_key_and_no_permission_to_create_one_is_an_error(db: Db, tmp_path: Path) -> None:
    key_file = tmp_path / "leakpatrol.key"
    with pytest.raises(EncryptionKeyError, match="does not exist"):
        open_runtime(config(db, key_file), create_key=False)
    assert not key_file.exists()


def test_a_lost_key_with_tokens_stored_is_an_error_and_not_a_new_key(db: Db, tmp_path: Path) -> None:
    key_file = tmp_path / "leakpatrol.key"
    token = new_token()
    store = open_runtime(config(db, key_file), create_key=True)
    record(store, token)
    store.close()
    key_file.unlink()
    with pytest.raises(EncryptionKeyError) as info:
        open_runtime(config(db, key_file), create_key=True)
    assert "holds tokens" in str(info.value) and "original key" in str(info.value)
    assert token not in str(info.value)
    assert not key_file.exists()


def test_a_different_key_with_tokens_stored_is_refused(db: Db, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "leakpatrol.key"
    token = new_token()
    store = open_runtime(config(db, key_file), create_key=True)
    record(store, token)
    store.close()
    monkeypatch.setenv(KEY_ENV, generate_key())  # the environment wins over the file
    with pytest.raises(EncryptionKeyError) as info:
        open_runtime(config(db, key_file), create_key=True)
    assert "wrong key" in str(info.value) and token not in str(info.value)
    monkeypatch.setenv(KEY_ENV, key_file.read_text())  # the right key, from the environment
    store = open_runtime(config(db, key_file), create_key=False)
    try:
        assert [store.reveal(t) for t in store.tokens()] == [token]
    finally:
        store.close()


def test_a_malformed_key_names_where_it_came_from(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    with pytest.raises(EncryptionKeyError, match=rf"\${KEY_ENV} does not hold a leakpatrol key"):
        open_runtime(config(db, tmp_path / "k"), create_key=True)
