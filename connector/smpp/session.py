"""One SMPP session over asyncio: bind, a window of outstanding requests matched by sequence number,
enquire_link keepalive with a deadline, deliver_sm handed to a callback, unbind.

Closing a session fails every pending request with the reason (STYLE.md habit 6). smpplib's `Client`
is not used: it is blocking, not thread-safe and has no window.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from connector.errors import BindError, ConfigError, SessionClosed
from connector.smpp import codec, wire
from connector.smpp.status import CREDENTIAL_STATUSES, CommandStatus, status_name
from connector.smpp.window import Window
from connector.waiter import Waiter

log = logging.getLogger(__name__)

_RESPONSE_BIT = 0x80000000
_GENERIC_NACK = 0x80000000
_MAX_SEQUENCE = 0x7FFFFFFF

Respond = Callable[[int], None]  # the command status of the deliver_sm_resp; the first call counts
# Takes a deliver_sm and calls `respond` once the report is durable (or could not be made so).
DeliverHandler = Callable[[codec.Pdu, Respond], None]


class BindType(enum.Enum):
    TRANSCEIVER = "transceiver"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"

    @property
    def can_submit(self) -> bool:
        return self is not BindType.RECEIVER


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 5.0
    bind: float = 5.0
    response: float = 10.0
    enquire_link_interval: float = 15.0
    enquire_link_response: float = 5.0
    unbind: float = 2.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""

    def __post_init__(self) -> None:
        if not self.system_id:
            raise ConfigError("smpp.system_id (the account's API key) is empty")
        if "\0" in self.system_id or "\0" in self.password:
            raise ConfigError("smpp credentials cannot contain a NUL character")

    @property
    def beyond_smpp34(self) -> bool:
        """SMPP 3.4 allows 15 and 8 octets; ViHAT's 30-character keys are longer and sent whole."""
        return (
            len(self.system_id.encode()) > codec.SMPP34_SYSTEM_ID_OCTETS
            or len(self.password.encode()) > codec.SMPP34_PASSWORD_OCTETS
        )

    def __repr__(self) -> str:  # never print the password
        return f"Endpoint({self.host}:{self.port}, system_id={self.system_id[:4]}…)"


class SubmitTimeout(SessionClosed):
    """No response within the deadline: the SMSC may or may not have accepted the PDU."""


class SmppSession(asyncio.Protocol):
    def __init__(self, name: str, window: int, timeouts: Timeouts, on_deliver: DeliverHandler | None) -> None:
        self.name = name
        self.timeouts = timeouts
        self._on_deliver = on_deliver
        self.window = Window(window)  # submit_sm awaiting their response; the bind pool takes its slots
        self._pending: dict[int, tuple[Waiter[codec.Pdu], float]] = {}
        self._sequence = 0
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._outgoing: list[bytes] = []  # frames written at the end of this turn of the event loop
        self._loop = asyncio.get_running_loop()  # asked for twice per request otherwise; it never changes
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self._last_received = time.monotonic()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bind_type = BindType.TRANSCEIVER

    # ---- opening and closing -------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        bind_type: BindType,
        *,
        name: str = "bind",
        window: int = 10,
        timeouts: Timeouts = Timeouts(),
        on_deliver: DeliverHandler | None = None,
    ) -> SmppSession:
        loop = asyncio.get_running_loop()
        session = cls(name, window, timeouts, on_deliver)
        session.bind_type = bind_type
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: session, endpoint.host, endpoint.port), timeouts.connect
            )
        except (TimeoutError, OSError) as exc:
            raise BindError(f"{name}: cannot connect to {endpoint.host}:{endpoint.port}: {exc!r}") from exc
        try:
            response = await session._write_request(
                lambda sequence: codec.encode_bind(
                    f"bind_{bind_type.value}",
                    sequence,
                    system_id=endpoint.system_id,
                    password=endpoint.password,
                    system_type=endpoint.system_type,
                ),
                timeouts.bind,
            )
        except SessionClosed as exc:
            session.abort(str(exc))
            raise BindError(f"{name}: network failure during bind: {exc}") from exc
        except asyncio.CancelledError:  # the pool closed while this bind was in progress
            session.abort("closed while binding")
            raise
        if response.status != CommandStatus.ESME_ROK:
            session.abort("bind refused")
            raise BindError(
                f"{name}: bind refused with {status_name(response.status)}",
                command_status=response.status,
                is_credentials=response.status in CREDENTIAL_STATUSES,
            )
        session._start_keepalive()
        return session

    @property
    def is_open(self) -> bool:
        return not self._closed.done()

    @property
    def closed(self) -> asyncio.Future[str]:
        """Resolves with the reason once the session is gone."""
        return self._closed

    @property
    def window_in_use(self) -> int:
        return len(self._pending)

    async def unbind(self) -> None:
        if not self.is_open:
            return
        with contextlib.suppress(SessionClosed):
            await self.request("unbind", timeout=self.timeouts.unbind)
        self.abort("unbound")

    def abort(self, reason: str) -> None:
        if self._transport is not None:
            self._flush_outgoing()  # answers already decided go out before the close
            self._transport.close()
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        if self._closed.done():
            return
        self._closed.set_result(reason)
        pending, self._pending = self._pending, {}
        error = SessionClosed(f"{self.name}: {reason}")
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(error)
        for task in self._tasks:
            task.cancel()

    # ---- requests ------------------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    async def request(self, command: str, *, timeout: float | None = None, **fields: Any) -> codec.Pdu:
        """Send a request outside the window (bind, enquire_link, unbind) and await its response."""
        return await self._write_request(
            lambda sequence: codec.encode(command, sequence, **fields), timeout or self.timeouts.response
        )

    def submit_now(
        self, fields: dict[str, Any], written: Callable[[], None] | None = None
    ) -> asyncio.Future[codec.Pdu]:
        """Write a submit_sm and return the future of its response. The caller holds a slot of `window`
        (and gives it back once the future is done); `written` runs in the same step as the write.

        Not a coroutine: the bind pool awaits the window, the request's reservation, the token and the
        response in its own frame, since every frame in an await chain is re-entered each time a request
        resumes."""
        future: asyncio.Future[codec.Pdu] = self._loop.create_future()
        self.submit_to(fields, future, written)
        return future

    def submit_to(
        self, fields: dict[str, Any], waiter: Waiter[codec.Pdu], written: Callable[[], None] | None = None
    ) -> None:
        """`submit_now`, with the response (or the reason there is none: SessionClosed, SubmitTimeout)
        given to `waiter`, which the bind pool's callback-driven send carries on from."""
        self._send_request(
            lambda sequence: codec.encode("submit_sm", sequence, **fields), self.timeouts.response, waiter, written
        )

    def _write_request(
        self, build: Callable[[int], bytes], timeout: float, written: Callable[[], None] | None = None
    ) -> asyncio.Future[codec.Pdu]:
        """Write the PDU `build(sequence)` makes; its response, matched by sequence number, resolves the
        future returned. `written` runs in the same step as the write."""
        future: asyncio.Future[codec.Pdu] = self._loop.create_future()
        self._send_request(build, timeout, future, written)
        return future

    def _send_request(
        self,
        build: Callable[[int], bytes],
        timeout: float,
        waiter: Waiter[codec.Pdu],
        written: Callable[[], None] | None,
    ) -> None:
        if self._transport is None or not self.is_open:
            raise SessionClosed(f"{self.name}: session is closed")
        sequence = self._next_sequence()
        self._pending[sequence] = (waiter, time.monotonic() + timeout)
        if written is not None:
            written()
        self._send_bytes(build(sequence))

    # ---- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self._transport = cast(asyncio.Transport, transport)
        self._spawn(self._expire_pending())

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost ({exc!r})" if exc else "connection closed by peer")

    def data_received(self, data: bytes) -> None:
        self._last_received = time.monotonic()
        self._buffer += data
        try:
            frames = codec.take_frames(self._buffer)
        except codec.FramingError as exc:
            self.abort(str(exc))
            return
        for frame in frames:
            self._dispatch(frame)

    def _dispatch(self, frame: bytes) -> None:
        command_id, _status, sequence = codec.HEADER.unpack_from(frame)[1:]
        if command_id & _RESPONSE_BIT:
            entry = self._pending.pop(sequence, None)
            if entry is None:
                return  # a late response to a request already timed out
            future = entry[0]
            if future.done():
                return
            try:
                future.set_result(codec.decode(frame))
            except Exception as exc:  # noqa: BLE001 - a malformed response fails only its request
                future.set_exception(SessionClosed(f"{self.name}: undecodable response: {exc!r}"))
            return
        try:
            pdu = codec.decode(frame)
        except Exception:  # noqa: BLE001 - unknown or malformed request: nack it, keep the session
            self._write("generic_nack", sequence, CommandStatus.ESME_RINVCMDID)
            return
        command = pdu.command
        if command == "deliver_sm":
            self._deliver(pdu, sequence)
        elif command == "enquire_link":
            self._write("enquire_link_resp", sequence)
        elif command == "unbind":
            self._write("unbind_resp", sequence)
            self.abort("unbound by SMSC")
        else:
            self._write("generic_nack", sequence, CommandStatus.ESME_RINVCMDID)

    def _write(self, command: str, sequence: int, status: int = CommandStatus.ESME_ROK, **fields: Any) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._send_bytes(codec.encode(command, sequence, status, **fields))

    def _send_bytes(self, frame: bytes) -> None:
        """Queue a frame; everything queued in one turn of the event loop goes out in one write at its
        end (one system call for many PDUs under load, and no added wait)."""
        self._outgoing.append(frame)
        if len(self._outgoing) == 1:
            self._loop.call_soon(self._flush_outgoing)

    def _flush_outgoing(self) -> None:
        frames, self._outgoing = self._outgoing, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(frames))

    def _deliver(self, pdu: codec.Pdu, sequence: int) -> None:
        # deliver_sm_resp only after the handler made the report durable; an error status makes
        # the SMSC retry the report later (DESIGN.md section 5).
        answered = False

        def respond(status: int) -> None:
            nonlocal answered
            if not answered:
                answered = True
                if self._transport is not None and not self._transport.is_closing():
                    self._send_bytes(wire.deliver_sm_resp(sequence, status))

        if self._on_deliver is None:
            respond(CommandStatus.ESME_RX_T_APPN)
            return
        try:
            self._on_deliver(pdu, respond)
        except Exception:
            log.exception("%s: deliver_sm handler failed", self.name)
            respond(CommandStatus.ESME_RX_T_APPN)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- deadlines and keepalive ---------------------------------------------------------------

    async def _expire_pending(self) -> None:
        while self.is_open:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            expired = [sequence for sequence, (_, deadline) in self._pending.items() if deadline <= now]
            for sequence in expired:
                future, _ = self._pending.pop(sequence)
                if not future.done():
                    future.set_exception(SubmitTimeout(f"{self.name}: no response within deadline"))

    def _start_keepalive(self) -> None:
        self._spawn(self._keepalive())

    async def _keepalive(self) -> None:
        interval = self.timeouts.enquire_link_interval
        while self.is_open:
            await asyncio.sleep(max(0.05, self._last_received + interval - time.monotonic()))
            if time.monotonic() - self._last_received < interval:
                continue
            try:
                await self.request("enquire_link", timeout=self.timeouts.enquire_link_response)
            except SessionClosed as exc:
                log.warning("%s: enquire_link failed (%s); dropping the link", self.name, exc)
                self.abort("enquire_link timeout")
                return
