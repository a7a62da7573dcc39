"""The one back-off policy, used by in-poll HTTP retries, source failures, verification retries and
webhook delivery: exponential from ``first``, ×``factor`` per step, capped at ``cap``, with optional
jitter; a server's own wait (``Retry-After``, rate-limit reset) wins when it asks for longer, but
never beyond the cap.

Two ways to count the step: by attempt number (:meth:`Backoff.delay`) where attempts are counted,
and by time spent failing (:meth:`Backoff.after`) where only the first failure's moment is stored
(a source's ``failing_since``): the next wait is ``factor`` × the time failing so far, which doubles
like the attempt form does when the waits are honoured.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """``first`` seconds, then ×``factor`` per step, never more than ``cap``.

    ``jitter`` is the random share of each step: 0.5 waits 50–100 % of it (spreads retries of many
    processes), 0 is exact (verification retries, whose schedule the tests and reports show).
    """

    first: float
    cap: float
    factor: float = 2.0
    jitter: float = 0.0

    def delay(self, attempt: int, *, retry_after: float | None = None,
              rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt, 1) - 1, 64)
        step = self.first * self.factor ** exponent
        if self.jitter:
            step *= 1.0 - self.jitter + self.jitter * rng()
        return self._bounded(step, retry_after)

    def after(self, failing_for: float, *, retry_after: float | None = None) -> float:
        """Seconds to wait when a failure has lasted ``failing_for`` seconds (0 on the first one)."""
        return self._bounded(max(self.first, self.factor * max(0.0, failing_for)), retry_after)

    def _bounded(self, step: float, retry_after: float | None) -> float:
        if retry_after is not None and math.isfinite(retry_after):
            step = max(step, retry_after)
        if not math.isfinite(step):
            step = self.cap
        return max(0.0, min(step, self.cap))
