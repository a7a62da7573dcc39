"""Shared fixtures. No test reaches the internet: every httpx request goes through respx.

Unit tests get a strict router (``assert_all_mocked=True``). Tests marked ``e2e`` talk to real
servers on loopback, so their router passes loopback hosts through and nothing else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import respx

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        if request.node.get_closest_marker("e2e"):
            for host in LOOPBACK:
                router.route(host=host).pass_through()
        yield router


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("leakpatrol-cache"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, _cache_dir: str) -> None:
    """Tests never see the developer's config or real credentials, nor write to their cache folder."""
    for name in list(os.environ):
        if name.startswith("LEAKPATROL") or name in ("GITHUB_TOKEN", "GITLAB_TOKEN"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEAKPATROL_CACHE_DIR", _cache_dir)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """A test that installs log handlers (the CLI, ``setup_logging``) gives the old ones back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
