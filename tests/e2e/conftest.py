"""Fixtures for the end-to-end tests: a running sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crawler.demo.sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(poll_interval=1.0) as sandbox:
        yield sandbox
