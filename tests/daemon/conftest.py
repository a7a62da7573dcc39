"""Fixtures for the daemon's end-to-end tests: sandbox, recording receiver, config folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crawler.demo.sandbox import Sandbox
from tests.daemon.harness import RecordingReceiver, new_secret


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(poll_interval=1.0) as sandbox:
        yield sandbox


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[RecordingReceiver]:
    async with RecordingReceiver(new_secret(), tmp_path / "receiver") as rec:
        yield rec
