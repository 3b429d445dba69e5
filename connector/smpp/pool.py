"""The bind pool: N SMPP binds, each with its own token bucket and window, kept bound by a supervisor
that reconnects with exponential backoff and full jitter.

A message's parts are sent one by one; each part costs one token of the bind it goes out on. A part
answered with ESME_RTHROTTLED or ESME_RMSGQFUL pauses that bind and is retried (throttles never fail a
request); a lost session or a missing response is retried on another bind, up to `max_attempts`;
any other command status is permanent.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from connector.departure import Departure
from connector.errors import BindError, ConnectorError, SessionClosed, SubmitRejected
from connector.ratelimit import RateLimit, TokenBucket
from connector.smpp import codec
from connector.smpp.encoding import EncodedMessage
from connector.smpp.session import BindType, DeliverHandler, Endpoint, SmppSession, Timeouts
from connector.smpp.status import TRANSIENT_STATUSES, CommandStatus, status_name
from connector.stats import PoolStats

log = logging.getLogger(__name__)


class BindState(enum.Enum):
    CONNECTING = "connecting"
    BOUND = "bound"
    BACKOFF = "backoff"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float = 0.5
    cap: float = 30.0
    max_attempts: int = 5  # lost sessions and timeouts per part; throttles are not counted

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))


@dataclass(frozen=True, slots=True)
class PoolSettings:
    endpoint: Endpoint
    binds: int = 4
    bind_type: BindType = BindType.TRANSCEIVER
    receiver_binds: int = 0
    rate: RateLimit = RateLimit(30.0, 1.0)  # noqa: RUF009 - frozen value object, safe to share
    window: int = 10
    timeouts: Timeouts = Timeouts()  # noqa: RUF009 - frozen value object, safe to share
    reconnect: RetryPolicy = RetryPolicy()
    throttle_pause: float = 1.0
    source_ton: int | None = None
    registered_delivery: int = 1


@dataclass(slots=True)
class SubmitOutcome:
    message_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    submitted_at: float | None = None  # wall-clock seconds of the first part's write


SessionFactory = Callable[..., Awaitable[SmppSession]]


class BindSlot:
    def __init__(self, index: int, bind_type: BindType, rate: RateLimit) -> None:
        self.name = f"{bind_type.value}-{index}"
        self.bind_type = bind_type
        self.bucket = TokenBucket(rate)
        self.session: SmppSession | None = None
        self.state = BindState.CONNECTING
        self.reconnects = 0
        self.throttles = 0
        self.last_error: str | None = None


class NoBindAvailable(SessionClosed):
    """No bind could take the part before its deadline."""


class BindPool:
    def __init__(
        self,
        settings: PoolSettings,
        on_deliver: DeliverHandler | None,
        session_factory: SessionFactory = SmppSession.open,
    ) -> None:
        self.settings = settings
        self._on_deliver = on_deliver
        self._factory = session_factory
        self.slots = [BindSlot(i, settings.bind_type, settings.rate) for i in range(settings.binds)]
        self.slots += [BindSlot(i, BindType.RECEIVER, RateLimit(0)) for i in range(settings.receiver_binds)]
        self._senders = [slot for slot in self.slots if slot.bind_type.can_submit]
        self._round_robin = itertools.cycle(range(max(1, len(self._senders))))
        self._available = asyncio.Event()
        self._supervisors: list[asyncio.Task[None]] = []
        self._closing = False
        self._reference = random.randrange(0x10000)

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._supervisors = [asyncio.create_task(self._supervise(slot)) for slot in self.slots]

    async def wait_bound(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._available.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        self._closing = True
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
        sessions = [slot.session for slot in self.slots if slot.session is not None]
        await asyncio.gather(*(session.unbind() for session in sessions), return_exceptions=True)
        for slot in self.slots:
            slot.session, slot.state = None, BindState.CLOSED

    @property
    def any_bound(self) -> bool:
        """At least one bind that can submit is bound (asked for every SMS routed AUTO)."""
        return any(slot.state is BindState.BOUND for slot in self._senders)

    @property
    def healthy_binds(self) -> int:
        return sum(1 for slot in self._senders if slot.state is BindState.BOUND)

    def binds_by_state(self) -> dict[str, int]:
        counts = {state.value: 0 for state in BindState}
        for slot in self.slots:
            counts[slot.state.value] += 1
        return counts

    @property
    def window_in_use(self) -> int:
        return sum(slot.session.window_in_use for slot in self.slots if slot.session is not None)

    def stats(self) -> PoolStats:
        return PoolStats(
            binds_by_state=self.binds_by_state(),
            bound=self.healthy_binds,
            senders=len(self._senders),
            window_in_use=self.window_in_use,
            throttles=sum(slot.throttles for slot in self.slots),
            reconnects=sum(slot.reconnects for slot in self.slots),
            token_wait_seconds={slot.name: slot.bucket.waited_seconds for slot in self.slots},
        )

    def next_reference(self) -> int:
        """Concatenation reference: a counter, so consecutive long messages never share one."""
        self._reference = (self._reference + 1) & 0xFFFF
        return self._reference

    async def _supervise(self, slot: BindSlot) -> None:
        attempt = 0
        settings = self.settings
        while not self._closing:
            slot.state = BindState.CONNECTING
            try:
                session = await self._factory(
                    settings.endpoint,
                    slot.bind_type,
                    name=slot.name,
                    window=settings.window,
                    timeouts=settings.timeouts,
                    on_deliver=self._on_deliver,
                )
            except BindError as exc:
                slot.last_error = str(exc)
                slot.state = BindState.BACKOFF
                delay = settings.reconnect.backoff(attempt)
                kind = "credentials rejected" if exc.is_credentials else "bind failed"
                log.warning("%s: %s: %s; retrying in %.1fs", slot.name, kind, exc, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            attempt = 0
            slot.session, slot.state = session, BindState.BOUND
            self._update_available()
            log.info("%s: bound to %r", slot.name, settings.endpoint)
            reason = await asyncio.shield(session.closed)
            slot.session = None
            self._update_available()
            if self._closing:
                break
            slot.reconnects += 1
            slot.last_error = reason
            slot.state = BindState.BACKOFF
            delay = settings.reconnect.backoff(0)
            log.warning("%s: session ended (%s); re-binding in %.2fs", slot.name, reason, delay)
            await asyncio.sleep(delay)

    def _update_available(self) -> None:
        if any(slot.session is not None and slot.session.is_open for slot in self._senders):
            self._available.set()
        else:
            self._available.clear()

    # ---- submitting ----------------------------------------------------------------------------

    def _pick(self) -> BindSlot | None:
        for _ in range(len(self._senders)):
            slot = self._senders[next(self._round_robin)]
            if slot.session is not None and slot.session.is_open:
                return slot
        self._available.clear()
        return None

    async def submit(
        self,
        message: EncodedMessage,
        destination: str,
        source: str | None,
        deadline: float,
        on_part: Callable[[int, str], None] | None = None,
        departure: Departure | None = None,
    ) -> SubmitOutcome:
        """Send every part; return the message ids in part order.

        `on_part(number, message_id)` runs as soon as each part is accepted: a part's DLR can arrive
        while later parts still wait for tokens, and must find its id already known.

        `departure` is reserved when the first part holds a window slot and marked when it is written.

        `deadline` (monotonic) bounds the wait for a bind; raises SubmitRejected for a permanent
        command status, SessionClosed when retries are exhausted or no bind came up in time.
        """
        outcome = SubmitOutcome()
        settings = self.settings
        source_ton = settings.source_ton
        if source_ton is None:
            source_ton = 1 if (source or "").isdigit() else 5  # international number vs alphanumeric
        fields: dict[str, Any] = {
            "source_addr_ton": source_ton,
            "source_addr_npi": 0 if source_ton == 5 else 1,
            "source_addr": source or "",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": destination,
            "esm_class": message.esm_class,
            "registered_delivery": settings.registered_delivery,
            "data_coding": message.data_coding,
        }
        for part in message.parts:
            failures = 0
            while True:
                slot = self._pick()
                if slot is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not await self.wait_bound(remaining):
                        raise NoBindAvailable("no SMPP bind available before the request's deadline")
                    continue
                session = slot.session
                assert session is not None
                outcome.attempts += 1
                fields["short_message"] = part
                if outcome.submitted_at is None:
                    outcome.submitted_at = time.time()
                try:
                    response = await self._submit_part(session, slot.bucket, fields, departure)
                except ConnectorError as exc:
                    failures += 1
                    if not exc.retriable or failures >= settings.reconnect.max_attempts:
                        raise
                    log.debug("part retry after %s", exc)
                    continue
                status = response.status
                if status == CommandStatus.ESME_ROK:
                    message_id = codec.as_text(response.message_id)
                    outcome.message_ids.append(message_id)
                    if on_part is not None:
                        on_part(len(outcome.message_ids), message_id)
                    break
                if status in TRANSIENT_STATUSES:
                    slot.throttles += 1
                    slot.bucket.pause(settings.throttle_pause)
                    if time.monotonic() > deadline:
                        raise NoBindAvailable("throttled until the request's deadline")
                    continue
                raise SubmitRejected(status, status_name(status))
        return outcome

    @staticmethod
    async def _submit_part(
        session: SmppSession, bucket: TokenBucket, fields: dict[str, Any], departure: Departure | None
    ) -> codec.Pdu:
        """One submit_sm on `session`: a slot of its window first, then the departure's reservation (the
        intent, made durable while holding the slot), then a token right before the write (so the rate
        is measured at the wire), then the response. Every wait is awaited here, none in a coroutine of
        its own: a frame less for each of a request's resumptions."""
        window = session.window
        waiting = window.take()
        if waiting is not None:
            try:
                await waiting
            except asyncio.CancelledError:
                window.abandon(waiting)
                raise
        try:
            if departure is not None:
                reserving = departure.before_first_write()
                if reserving is not None:
                    await reserving
                written: Callable[[], None] | None = departure.written
            else:
                written = None
            if not bucket.take_now():
                await bucket.acquire()
            return await session.submit_now(fields, written)
        finally:
            window.release()
