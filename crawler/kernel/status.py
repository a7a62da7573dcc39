"""The one status vocabulary of an exposure (DESIGN.md "Exposure states").

``pending`` (found, not yet verified) → ``live`` | ``inactive`` | ``unknown``. A verifier answers
only with the three verdicts; ``pending`` is the store's state before the first answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    """A token's state; the values are what the store, the CLI and the reports write."""

    PENDING = "pending"
    LIVE = "live"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


VerdictStatus = Literal["live", "inactive", "unknown"]
"""What a verifier may answer, and what a notifier's ``on`` may list."""

STATUSES: tuple[Status, ...] = tuple(Status)
DETERMINATE: frozenset[Status] = frozenset({Status.LIVE, Status.INACTIVE})
"""Verdicts the issuer gave for certain; ``unknown`` is retried."""
