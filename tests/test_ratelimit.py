from __future__ import annotations

import asyncio
import itertools
import time

from connector.ratelimit import RateLimit, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(10, burst=3), clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert abs(bucket.try_acquire() - 0.1) < 1e-9
    clock.now += 0.1
    assert bucket.try_acquire() == 0.0


def test_pause_empties_the_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(10, burst=5), clock=clock)
    bucket.pause(2.0)
    assert abs(bucket.try_acquire() - 2.0) < 1e-9
    clock.now += 2.0
    assert bucket.try_acquire() > 0  # tokens refill from the end of the pause, not before
    clock.now += 0.1
    assert bucket.try_acquire() == 0.0


def test_unlimited_never_waits_unless_paused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(0), clock=clock)
    assert all(bucket.try_acquire() == 0.0 for _ in range(1000))
    bucket.pause(1.0)  # the SMSC throttled an unlimited bind: it must still rest
    assert bucket.try_acquire() == 1.0
    clock.now += 1.0
    assert bucket.try_acquire() == 0.0


def test_async_sends_are_spaced_so_no_second_exceeds_the_rate() -> None:
    rate = 50.0

    async def scenario() -> list[float]:
        bucket = TokenBucket(RateLimit(rate, burst=1))
        times: list[float] = []

        async def send() -> None:
            await bucket.acquire()
            times.append(time.monotonic())

        await asyncio.gather(*(send() for _ in range(80)))
        return times

    times = sorted(asyncio.run(scenario()))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / rate - 1e-6
    windows = [sum(1 for t in times if start <= t < start + 1.0) for start in times]
    assert max(windows) <= rate


def test_margin_with_slack_keeps_every_second_under_the_rate_and_uses_98_percent_despite_late_wakeups() -> None:
    """A waiter woken late (0 to 3 ms, as an event loop does) must neither lose that time nor let any
    one-second window exceed the SMSC's rate (issue 11: rate at the edge)."""
    import random

    from connector.app import send_rate

    rate, clock, rng = 30.0, FakeClock(), random.Random(7)
    bucket = TokenBucket(send_rate(rate, burst=1.0, margin=0.015), clock=clock)
    start, grants = clock.now, []
    while len(grants) < 1800:  # a minute of backlog
        delay = bucket.try_acquire()
        if delay == 0.0:
            grants.append(clock.now)
            continue
        clock.now += delay + rng.uniform(0, 0.003)  # the sleep returns late
    windows = [bisect_count(grants, t, t + 1.0) for t in grants]
    used = len(grants) / (grants[-1] - start) / rate
    assert max(windows) <= rate
    assert used >= 0.98, used


def bisect_count(times: list[float], low: float, high: float) -> int:
    import bisect

    return bisect.bisect_left(times, high) - bisect.bisect_left(times, low)
