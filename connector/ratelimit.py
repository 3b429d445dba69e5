"""Token bucket for asyncio, counted per PDU.

Tokens are taken at the moment of sending, never reserved ahead, so with `burst=1` two sends are at
least `1/rate` apart and no one-second window holds more than `rate` sends, even after the event loop
stalls (a reservation scheme would release stalled sends together).

Waiters queue in arrival order behind one timer per bucket, set for when the first of them can have
its tokens; it hands them over and calls each waiter at once (`Waiter`), so a sender driven by callbacks
waits without a task, and a coroutine waits on a future (`acquire`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from connector.waiter import Waiter


@dataclass(frozen=True, slots=True)
class RateLimit:
    rate: float  # tokens per second; 0 or less means unlimited
    burst: float = 1.0
    # Tokens kept above `burst` so a waiter woken late by the event loop does not lose that time (with
    # burst 1, every late wake-up otherwise stretches the interval: ~2 % of the rate). A window of one
    # second then holds at most rate + burst + slack grants.
    slack: float = 0.0

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0


class TokenBucket:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] | None = None) -> None:
        self.limit = limit
        self._clock = clock or time.monotonic
        self._tokens = limit.burst
        self._updated = self._clock()
        self._paused_until = 0.0
        self._waiters: deque[tuple[Waiter[None], float]] = deque()  # (waiter, tokens) in arrival order
        self._timer: asyncio.TimerHandle | None = None
        self.waited_seconds = 0.0
        # When tokens were handed out (bounded): the rate actually used, measured where it is decided.
        self.recent_grants: deque[float] = deque(maxlen=4096)

    def _refill(self, now: float) -> None:
        capacity = self.limit.burst + self.limit.slack
        self._tokens = min(capacity, self._tokens + (now - self._updated) * self.limit.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take tokens if available and return 0, else return the seconds until they would be."""
        now = self._clock()
        if now < self._paused_until:  # a pause applies to unlimited buckets too
            return self._paused_until - now
        if self.limit.unlimited:
            return 0.0
        self._refill(now)
        if self._tokens >= tokens - 1e-9:  # float refill can land a hair below a whole token
            self._tokens -= tokens
            self.recent_grants.append(now)
            return 0.0
        return (tokens - self._tokens) / self.limit.rate

    def take_now(self, tokens: float = 1.0) -> bool:
        """Tokens taken at once, if nobody is queued and they are here; else False."""
        return not self._waiters and self.try_acquire(tokens) == 0.0

    def take_or_queue(self, waiter: Waiter[None], tokens: float = 1.0) -> bool:
        """Tokens: True when taken at once, else False and `waiter` is queued; it is called with
        `set_result` once they are taken for it, unless it is `done()` by then (it gave up)."""
        waiters = self._waiters
        if waiters:
            waiters.append((waiter, tokens))  # behind the others: the timer is set for the first
            return False
        delay = self.try_acquire(tokens)
        if delay == 0.0:
            return True
        waiters.append((waiter, tokens))
        self._sleep(delay)
        return False

    async def acquire(self, tokens: float = 1.0) -> None:
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.take_or_queue(granted, tokens):
            await granted  # cancelled before its turn, it is skipped; after it, its tokens are spent

    def _serve(self) -> None:
        """Hand tokens to the waiters in order while there are some, then sleep until the first one's
        would be there. A waiter called here may ask again at once: it queues, or sets the timer."""
        self._timer = None
        waiters = self._waiters
        while waiters:
            waiter, tokens = waiters[0]
            if waiter.done():
                waiters.popleft()
                continue
            delay = self.try_acquire(tokens)
            if delay > 0:
                self._sleep(delay)
                return
            waiters.popleft()
            waiter.set_result(None)

    def _sleep(self, delay: float) -> None:
        if self._timer is None:
            self.waited_seconds += delay
            self._timer = asyncio.get_running_loop().call_later(delay, self._serve)

    def pause(self, seconds: float) -> None:
        """Stop handing out tokens for `seconds` (the SMSC said it is throttling us)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = 0.0
        self._updated = max(self._updated, self._paused_until)
