"""The compiled Hyperscan database is cached on disk, keyed by the rules' hash (``scan`` starts fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.detect import scanner as scanner_module
from crawler.detect.mint import mint
from crawler.detect.rules import load_rules
from crawler.detect.scanner import HAVE_HYPERSCAN, Scanner
from tests.cli.helpers import ACME

pytestmark = pytest.mark.skipif(not HAVE_HYPERSCAN, reason="the Hyperscan engine is not installed on this platform")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEAKPATROL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_second_scanner_loads_the_database_instead_of_compiling(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [ACME, *load_rules(None)]
    Scanner(rules, use_hyperscan=True)
    [file] = cache.iterdir()
    assert file.name.startswith("hyperscan-") and file.stat().st_size > 0

    real = scanner_module._hs

    class NoCompile:
        """The hyperscan module, except that building a new database fails the test."""

        def __getattr__(self, name: str) -> Any:
            if name == "Database":
                raise AssertionError("compiled although the cache holds the database")
            return getattr(real, name)

    monkeypatch.setattr(scanner_module, "_hs", NoCompile())
    token = mint(ACME)
    [m] = Scanner(rules, use_hyperscan=True).scan(f"k={token}\n".encode())
    assert m.text == token


def test_other_rules_get_another_file(cache: Path) -> None:
    Scanner([ACME], use_hyperscan=True)
    Scanner(load_rules(None), use_hyperscan=True)
    assert len(list(cache.iterdir())) == 2


def test_a_corrupt_or_unwritable_cache_is_compiled_around(cache: Path) -> None:
    Scanner([ACME], use_hyperscan=True)
    [file] = cache.iterdir()
    file.write_bytes(b"not a database")
    token = mint(ACME)
    assert [m.text for m in Scanner([ACME], use_hyperscan=True).scan(token.encode())] == [token]
    assert file.read_bytes() != b"not a database", "the bad file is replaced"
    file.unlink()
    cache.rmdir()
    cache.write_text("a file where the folder should be", encoding="utf-8")
    assert [m.text for m in Scanner([ACME], use_hyperscan=True).scan(token.encode())] == [token]
