"""Fixtures for notifier tests."""

from __future__ import annotations

import pytest

from crawler.detect.mint import mint
from tests.notifiers.helpers import RULE


@pytest.fixture
def token() -> str:
    return mint(RULE)
