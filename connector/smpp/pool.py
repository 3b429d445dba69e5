"""The bind pool: N SMPP binds, each with its own token bucket and window, kept bound by a supervisor
that reconnects with exponential backoff and full jitter.

A message's parts are sent one by one; each part costs one token of the bind it goes out on. A part
answered with ESME_RTHROTTLED or ESME_RMSGQFUL pauses that bind and is retried (throttles never fail a
request); a lost session or a missing response is retried on another bind, up to `max_attempts`;
any other command status is permanent.

A send is carried by callbacks (`_Submission`) as long as nothing unusual happens: a task resumed
three times per request cost about 10 us of CPU in a micro-benchmark, the same steps as callbacks under
1 us. The unusual (no bind, a lost session or a missing response, a throttle) goes on in a task.
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
from typing import Any, TypeVar

from connector.departure import Departure
from connector.errors import BindError, ConnectorError, SessionClosed, SubmitRejected
from connector.ratelimit import RateLimit, TokenBucket
from connector.smpp import codec
from connector.smpp.encoding import EncodedMessage
from connector.smpp.session import BindType, DeliverHandler, Endpoint, SmppSession, Timeouts
from connector.smpp.status import TRANSIENT_STATUSES, CommandStatus, status_name
from connector.stats import PoolStats

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        return await self.send(message, destination, source, deadline, _outcome_or_raise, on_part, departure)

    def send(
        self,
        message: EncodedMessage,
        destination: str,
        source: str | None,
        deadline: float,
        conclude: Callable[[SubmitOutcome | ConnectorError], T],
        on_part: Callable[[int, str], None] | None = None,
        departure: Departure | None = None,
    ) -> asyncio.Future[T]:
        """`submit` without a task: a future that resolves with `conclude(outcome)`, or
        `conclude(error)` for a ConnectorError. Cancelling it gives back what the send holds.

        The usual send is carried by callbacks: the window, the intent log and the session wake its
        steps directly (a task would be resumed three or four times per request, each time through
        every frame of its await chain). What is unusual (no bind, a lost session or a missing response,
        a throttle) goes on in a task running `_send_parts`, from where it is."""
        fields = self._fields(message, destination, source)
        submission = _Submission(self, fields, message.parts, deadline, conclude, on_part, departure)
        submission.carry_on(submission.next_part)
        return submission

    def _fields(self, message: EncodedMessage, destination: str, source: str | None) -> dict[str, Any]:
        settings = self.settings
        source_ton = settings.source_ton
        if source_ton is None:
            sender = source or ""
            source_ton = 1 if sender.isascii() and sender.isdigit() else 5  # international number vs alphanumeric
        return {
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

    async def _send_parts(
        self,
        fields: dict[str, Any],
        parts: tuple[bytes, ...],
        outcome: SubmitOutcome,
        deadline: float,
        on_part: Callable[[int, str], None] | None,
        departure: Departure | None,
        failures: int = 0,
    ) -> SubmitOutcome:
        """The parts from `len(outcome.message_ids)` on, one by one, retried as the module says.
        `failures`: of the first of them so far."""
        for part in parts[len(outcome.message_ids) :]:
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
                try:
                    response = await self._submit_part(session, slot.bucket, fields, departure, outcome)
                except ConnectorError as exc:
                    failures += 1
                    self._check_retry(exc, failures)
                    continue
                message_id = self._judge(slot, response, deadline)
                if message_id is not None:
                    self._accept_part(outcome, message_id, on_part)
                    failures = 0
                    break
        return outcome

    def _check_retry(self, error: ConnectorError, failures: int) -> None:
        """Raise `error` unless the part may be tried again after `failures` lost sessions or timeouts."""
        if not error.retriable or failures >= self.settings.reconnect.max_attempts:
            raise error
        log.debug("part retry after %s", error)

    def _judge(self, slot: BindSlot, response: codec.Pdu, deadline: float) -> str | None:
        """The message id of an accepted part; None for a throttle (the bind pauses and the part is tried
        again); raises for a permanent status, or a throttle past the deadline."""
        status = response.status
        if status == CommandStatus.ESME_ROK:
            return codec.as_text(response.message_id)
        if status in TRANSIENT_STATUSES:
            slot.throttles += 1
            slot.bucket.pause(self.settings.throttle_pause)
            if time.monotonic() > deadline:
                raise NoBindAvailable("throttled until the request's deadline")
            return None
        raise SubmitRejected(status, status_name(status))

    @staticmethod
    def _accept_part(outcome: SubmitOutcome, message_id: str, on_part: Callable[[int, str], None] | None) -> None:
        outcome.message_ids.append(message_id)
        if on_part is not None:
            on_part(len(outcome.message_ids), message_id)

    @staticmethod
    async def _submit_part(
        session: SmppSession,
        bucket: TokenBucket,
        fields: dict[str, Any],
        departure: Departure | None,
        outcome: SubmitOutcome,
    ) -> codec.Pdu:
        """One submit_sm on `session`: a slot of its window first, then the departure's reservation (the
        intent, made durable while holding the slot), then a token right before the write (so the rate
        is measured at the wire), then the response. Every wait is awaited here, none in a coroutine of
        its own: a frame less for each of a request's resumptions. `outcome.submitted_at` is stamped at
        the first write."""
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
            if outcome.submitted_at is None:
                outcome.submitted_at = time.time()
            return await session.submit_now(fields, written)
        finally:
            window.release()


def _outcome_or_raise(result: SubmitOutcome | ConnectorError) -> SubmitOutcome:
    if isinstance(result, ConnectorError):
        raise result
    return result


class _Submission(asyncio.Future[T]):
    """One message on its way out through `BindPool.send`, carried part by part by its steps; each step
    is a `Waiter` that the window, the intent log or the session wakes, and that carries the send on.

    While a step waits, the submission holds what that step says: nothing while queued for a window
    slot, the slot while its reservation is made durable, while it waits for its token and while the
    part is on the wire."""

    __slots__ = (
        "conclude",
        "deadline",
        "departure",
        "failures",
        "fallback",
        "fields",
        "holding",
        "on_part",
        "outcome",
        "parts",
        "pool",
        "session",
        "slot",
        "step",
    )

    def __init__(
        self,
        pool: BindPool,
        fields: dict[str, Any],
        parts: tuple[bytes, ...],
        deadline: float,
        conclude: Callable[[SubmitOutcome | ConnectorError], T],
        on_part: Callable[[int, str], None] | None,
        departure: Departure | None,
    ) -> None:
        super().__init__()
        self.pool, self.fields, self.parts, self.deadline = pool, fields, parts, deadline
        self.conclude = conclude
        self.on_part, self.departure = on_part, departure
        self.outcome = SubmitOutcome()
        self.failures = 0  # lost sessions and timeouts of the current part
        self.slot: BindSlot | None = None  # the bind of the current part
        self.session: SmppSession | None = None  # its session then (the bind's next one may differ)
        self.step: _Step | None = None  # the step waiting now, if any
        self.holding = False  # a window slot of `slot`
        self.fallback: asyncio.Task[SubmitOutcome] | None = None

    # ---- the usual way -------------------------------------------------------------------------

    def next_part(self) -> None:
        outcome = self.outcome
        if len(outcome.message_ids) == len(self.parts):
            self._finish(outcome)
            return
        slot = self.pool._pick()
        if slot is None:
            self._fall_back()  # waits for a bind
            return
        session = slot.session
        assert session is not None
        self.slot, self.session = slot, session
        outcome.attempts += 1
        self.fields["short_message"] = self.parts[len(outcome.message_ids)]
        step = self.step = _Granted(self)
        if session.window.take_or_queue(step):
            self.step = None
            self.granted()

    def granted(self) -> None:
        self.holding = True
        departure = self.departure
        if departure is not None:
            step = self.step = _Reserved(self)
            if departure.reserve_to(step):
                return
            self.step = None
        self.reserved()

    def reserved(self) -> None:
        slot = self.slot
        assert slot is not None
        bucket = slot.bucket  # a token right before the write: the rate is the wire's
        if bucket.take_now():  # the usual case unthrottled: no step to make for it
            self.write()
            return
        step = self.step = _Tokened(self)
        if bucket.take_or_queue(step):
            self.step = None
            self.write()

    def write(self) -> None:
        session = self.session
        assert session is not None
        departure = self.departure
        outcome = self.outcome
        if outcome.submitted_at is None:
            outcome.submitted_at = time.time()
        step = self.step = _Answered(self)
        try:
            session.submit_to(self.fields, step, None if departure is None else departure.written)
        except SessionClosed as exc:
            # In a later callback: failing here gives the slot to the next waiter of this window, which
            # would fail the same way, and so on down the queue in one ever deeper stack.
            self.step = None
            self.get_loop().call_soon(self.carry_on, self.failed, exc)

    def answered(self, response: codec.Pdu) -> None:
        self._let_go_of_slot()
        slot = self.slot
        assert slot is not None
        try:
            message_id = self.pool._judge(slot, response, self.deadline)
        except ConnectorError as exc:
            self._finish(exc)
            return
        if message_id is None:
            self._fall_back()  # throttled: tried again once the bind's pause is over
            return
        self.pool._accept_part(self.outcome, message_id, self.on_part)
        self.failures = 0
        self.next_part()

    def failed(self, error: BaseException) -> None:
        """The part got no answer: its session was lost, or it timed out, or it could not be written."""
        self._let_go_of_slot()
        if self.done():  # cancelled meanwhile (a write that failed is answered in a later callback)
            return
        if not isinstance(error, ConnectorError):
            self._crash(error)
            return
        self.failures += 1
        try:
            self.pool._check_retry(error, self.failures)
        except ConnectorError:
            self._finish(error)
            return
        self._fall_back()

    def carry_on(self, step: Callable[..., None], *args: Any) -> None:
        """Run a step of the send; a bug in it ends the send, never whoever woke it (the window, a
        poll of the producer, a session)."""
        try:
            step(*args)
        except Exception as exc:
            log.exception("SMPP send failed unexpectedly")
            self._crash(exc)

    # ---- the unusual way, and the end ----------------------------------------------------------

    def _fall_back(self) -> None:
        """Go on in a task from where the send is: `_send_parts` does the waiting and the retries."""
        self.step = None
        self.fallback = task = self.get_loop().create_task(
            self.pool._send_parts(
                self.fields, self.parts, self.outcome, self.deadline, self.on_part, self.departure, self.failures
            )
        )
        task.add_done_callback(self._fell_back)

    def _fell_back(self, task: asyncio.Task[SubmitOutcome]) -> None:
        if self.done():
            return
        if task.cancelled():
            super().cancel()
            return
        error = task.exception()
        if error is None:
            self._finish(task.result())
        elif isinstance(error, ConnectorError):
            self._finish(error)
        else:
            self._crash(error)

    def _finish(self, result: SubmitOutcome | ConnectorError) -> None:
        if self.done():
            return
        try:
            concluded = self.conclude(result)
        except Exception as exc:  # noqa: BLE001 - the caller's conclusion raises what it does not turn into a value
            self.set_exception(exc)
            return
        self.set_result(concluded)

    def _crash(self, error: BaseException) -> None:
        """A bug in a step: the send ends with it, and gives back the slot it held."""
        self._let_go_of_slot()
        if not self.done():
            self.set_exception(error)

    def _let_go_of_slot(self) -> None:
        if self.holding:
            self.holding = False
            assert self.session is not None
            self.session.window.release()

    def cancel(self, msg: Any | None = None) -> bool:
        if self.done():
            return False
        if self.fallback is not None:
            return self.fallback.cancel(msg)  # this future is cancelled once the task is
        if self.step is not None:
            self.step.dead = True  # whoever would wake it skips it
            self.step = None
        self._let_go_of_slot()
        return super().cancel(msg)


class _Step:
    """A `Waiter` for one step of a `_Submission`: woken once, it carries the send on at once."""

    __slots__ = ("dead", "submission")

    def __init__(self, submission: _Submission[Any]) -> None:
        self.submission = submission
        self.dead = False

    def done(self) -> bool:
        return self.dead

    def set_result(self, result: Any, /) -> None:
        if self.dead:
            return
        self.dead = True
        submission = self.submission
        submission.step = None
        self.woken(submission, result)

    def set_exception(self, exception: BaseException, /) -> None:
        if self.dead:
            return
        self.dead = True
        submission = self.submission
        submission.step = None
        submission.carry_on(submission.failed, exception)

    def woken(self, submission: _Submission[Any], result: Any) -> None:
        raise NotImplementedError


class _Granted(_Step):
    __slots__ = ()

    def woken(self, submission: _Submission[Any], result: Any) -> None:
        submission.carry_on(submission.granted)


class _Reserved(_Step):
    __slots__ = ()

    def woken(self, submission: _Submission[Any], result: Any) -> None:
        submission.carry_on(submission.reserved)


class _Tokened(_Step):
    __slots__ = ()

    def woken(self, submission: _Submission[Any], result: Any) -> None:
        submission.carry_on(submission.write)


class _Answered(_Step):
    __slots__ = ()

    def woken(self, submission: _Submission[Any], result: Any) -> None:
        submission.carry_on(submission.answered, result)
