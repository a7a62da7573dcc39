"""The one back-off policy (crawler.kernel.backoff), as delivery, sources, verification and in-poll
retries use it."""

from __future__ import annotations

import math

from crawler.engine.delivery import FIRST_DELIVERY_RETRY
from crawler.kernel.backoff import Backoff

DELIVERY = Backoff(FIRST_DELIVERY_RETRY, 600.0, jitter=0.5)


def test_delivery_backoff_grows_with_jitter_and_is_capped() -> None:
    low = [DELIVERY.delay(n, rng=lambda: 0.0) for n in range(1, 12)]
    high = [DELIVERY.delay(n, rng=lambda: 1.0) for n in range(1, 12)]
    assert low[:4] == [1.0, 2.0, 4.0, 8.0] and high[:4] == [2.0, 4.0, 8.0, 16.0]
    assert low == sorted(low) and max(high) == 600.0
    assert Backoff(2.0, 30.0, jitter=0.5).delay(10_000) == 30.0


def test_retry_after_wins_when_longer_but_never_past_the_cap() -> None:
    assert DELIVERY.delay(1, retry_after=45.0, rng=lambda: 0.0) == 45.0
    assert DELIVERY.delay(1, retry_after=4000.0) == 600.0
    assert DELIVERY.delay(6, retry_after=1.0, rng=lambda: 0.0) == 32.0  # a short Retry-After never shortens it


def test_exact_backoff_doubles_from_first() -> None:
    exact = Backoff(300.0, 6 * 3600.0)
    assert [exact.delay(n) for n in (1, 2, 3)] == [300.0, 600.0, 1200.0]
    assert exact.delay(50) == 6 * 3600.0


def test_backoff_by_time_failing_doubles_the_time_spent_failing() -> None:
    policy = Backoff(60.0, 1800.0)
    assert policy.after(0.0) == 60.0  # first failure: the floor
    assert policy.after(100.0) == 200.0
    assert policy.after(10_000.0) == 1800.0


def test_absurd_server_waits_and_attempts_stay_finite_and_capped() -> None:
    policy = Backoff(1.0, 900.0)
    for wait in (1e20, math.inf, math.nan, -5.0):
        assert 0.0 <= policy.delay(3, retry_after=wait) <= 900.0
    assert policy.delay(10**9) == 900.0
    assert policy.after(math.inf) == 900.0
