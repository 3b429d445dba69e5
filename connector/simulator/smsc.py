"""SMPP SMSC simulator: binds checked against accounts (system_id = API key, password = secret key),
submit_sm answered with a message id and throttled past a per-bind rate, enquire_link, unbind, and
delivery receipts sent as deliver_sm to *any* bound receiver or transceiver of the same system_id
after a delay, retried until acknowledged (seed: "SMPP - Connection").
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import itertools
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from connector.ratelimit import RateLimit, TokenBucket
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY
from connector.simulator.outcomes import ERROR_CODES, OutcomePicker
from connector.smpp import codec
from connector.smpp.encoding import ESM_CLASS_UDHI, decode_short_message
from connector.smpp.receipts import format_receipt
from connector.smpp.status import CommandStatus

log = logging.getLogger(__name__)

_RESPONSE_BIT = 0x80000000
DEMO_SYSTEM_ID = DEMO_API_KEY  # the SMPP system_id is the REST API key, the password its secret key
DEMO_PASSWORD = DEMO_SECRET_KEY
_MESSAGE_STATE = {"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "UNKNOWN": 7, "REJECTD": 8}


@dataclass
class SimulatorSettings:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port; see SmscSimulator.port
    accounts: dict[str, str] = field(default_factory=lambda: {DEMO_SYSTEM_ID: DEMO_PASSWORD})
    throttle_rate: float = 30.0  # submit_sm per second per bind; 0 turns throttling off
    throttle_burst: float = 5.0
    throttle_window: bool = False  # count arrivals in the trailing second instead of a token bucket
    dlr_delay: float = 0.2
    dlr_retry_delay: float = 1.0
    dlr_window: int = 100
    outcomes: OutcomePicker = field(default_factory=OutcomePicker)
    reject_prefixes: tuple[str, ...] = ("999",)  # destinations answered with ESME_RINVDSTADR
    keep_messages: bool = True


@dataclass
class ReceivedPart:
    bind_id: int
    destination: str
    source: str
    data_coding: int
    has_udh: bool
    reference: int | None
    total: int
    number: int
    text: str
    message_id: str


@dataclass
class BindStats:
    bind_id: int
    system_id: str
    bind_type: str
    submit_times: list[float] = field(default_factory=list)
    throttled: int = 0


@dataclass
class Stats:
    binds_accepted: int = 0
    binds_rejected: int = 0
    unbinds: int = 0
    submits: int = 0
    throttled: int = 0
    rejected: int = 0
    dlrs_sent: int = 0
    dlrs_acked: int = 0
    dlrs_retried: int = 0
    data_codings: Counter[int] = field(default_factory=Counter)
    udh_parts: int = 0
    dlr_statuses: Counter[str] = field(default_factory=Counter)
    binds: list[BindStats] = field(default_factory=list)
    messages: list[ReceivedPart] = field(default_factory=list)


@dataclass
class _Receipt:
    system_id: str
    message_id: str
    destination: str
    source: str
    raw_status: str
    submitted: datetime
    text: str


class _Connection(asyncio.Protocol):
    def __init__(self, simulator: SmscSimulator) -> None:
        self.simulator = simulator
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []
        self.system_id: str | None = None
        self.bind_type: str | None = None
        self.stats: BindStats | None = None
        self.bucket: TokenBucket | None = None
        self.sequence = itertools.count(1)
        self.pending: dict[int, tuple[asyncio.Future[int], _Receipt]] = {}
        self.deliver_window = asyncio.Semaphore(simulator.settings.dlr_window)

    @property
    def receives(self) -> bool:
        return self.bind_type in ("bind_receiver", "bind_transceiver")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.simulator.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.simulator.connections.discard(self)
        pending, self.pending = self.pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("bind closed"))

    def write(self, command: str, sequence: int, status: int = CommandStatus.ESME_ROK, **fields: Any) -> None:
        # Frames of one turn of the event loop go out in one write, as the connector's sessions do.
        self.outgoing.append(codec.encode(command, sequence, status, **fields))
        if len(self.outgoing) == 1:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        frames, self.outgoing = self.outgoing, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(frames))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            frames = codec.take_frames(self.buffer)
        except codec.FramingError:
            self.close()
            return
        for frame in frames:
            self.handle(frame)

    def handle(self, frame: bytes) -> None:
        command_id, status, sequence = codec.HEADER.unpack_from(frame)[1:]
        if command_id & _RESPONSE_BIT:
            entry = self.pending.pop(sequence, None)
            if entry is not None and not entry[0].done():
                entry[0].set_result(status)
            return
        pdu = codec.decode(frame)
        command = pdu.command
        if command.startswith("bind_"):
            self.simulator.bind(self, pdu)
        elif command == "enquire_link":
            self.write("enquire_link_resp", sequence)
        elif command == "unbind":
            self.simulator.stats.unbinds += 1
            self.write("unbind_resp", sequence)
            self.close()
        elif command == "submit_sm":
            self.simulator.submit(self, pdu)
        else:
            self.write("generic_nack", sequence, 0x00000003)

    def close(self) -> None:
        if self.transport is not None:
            self.flush()
            self.transport.close()


class SmscSimulator:
    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.stats = Stats()
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._queues: dict[str, asyncio.Queue[_Receipt]] = {}
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._receiver_turn = itertools.count()
        self._ids = itertools.count(1)
        self._id_prefix = random.getrandbits(24)
        self._bind_ids = itertools.count(1)
        self.port = self.settings.port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.settings.host, self.settings.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SMSC simulator listening on %s:%d", self.settings.host, self.port)

    async def stop(self) -> None:
        for task in self._senders.values():
            task.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()

    # ---- control (tests) -----------------------------------------------------------------------

    def drop_all_binds(self) -> int:
        """Close every bound connection without unbind, as a failing SMSC would."""
        connections = list(self.connections)
        for connection in connections:
            if connection.transport is not None:
                connection.transport.abort()
        return len(connections)

    def _over_rate(self, stats: BindStats, bucket: TokenBucket) -> bool:
        """Throttle by token bucket, or (throttle_window) when the trailing second already holds the rate:
        an SMSC that counts arrivals per second, as operators state their limits."""
        if not self.settings.throttle_window or self.settings.throttle_rate <= 0:
            return bucket.try_acquire() > 0
        times, now = stats.submit_times, time.monotonic()
        recent = len(times) - bisect.bisect_right(times, now - 1.0)
        return recent >= self.settings.throttle_rate

    def set_throttle(self, rate: float, burst: float | None = None) -> None:
        self.settings.throttle_rate = rate
        if burst is not None:
            self.settings.throttle_burst = burst
        for connection in self.connections:
            connection.bucket = TokenBucket(RateLimit(rate, self.settings.throttle_burst))

    # ---- PDUs ----------------------------------------------------------------------------------

    def bind(self, connection: _Connection, pdu: codec.Pdu) -> None:
        command = pdu.command
        system_id = codec.as_text(pdu.system_id)
        password = codec.as_text(pdu.password)
        expected = self.settings.accounts.get(system_id)
        if connection.system_id is not None:
            status = CommandStatus.ESME_RALYBND
        elif expected is None:
            status = CommandStatus.ESME_RINVSYSID
        elif expected != password:
            status = CommandStatus.ESME_RINVPASWD
        else:
            status = CommandStatus.ESME_ROK
        connection.write(f"{command}_resp", pdu.sequence, status, system_id="VIHATSIM")
        if status != CommandStatus.ESME_ROK:
            self.stats.binds_rejected += 1
            return
        self.stats.binds_accepted += 1
        connection.system_id, connection.bind_type = system_id, command
        connection.stats = BindStats(next(self._bind_ids), system_id, command)
        connection.bucket = TokenBucket(RateLimit(self.settings.throttle_rate, self.settings.throttle_burst))
        self.stats.binds.append(connection.stats)
        if connection.receives:
            self._ensure_sender(system_id)

    def submit(self, connection: _Connection, pdu: codec.Pdu) -> None:
        stats, bucket = connection.stats, connection.bucket
        if stats is None or bucket is None or connection.bind_type == "bind_receiver":
            connection.write("submit_sm_resp", pdu.sequence, CommandStatus.ESME_RINVBNDSTS)
            return
        if self._over_rate(stats, bucket):
            stats.throttled += 1
            self.stats.throttled += 1
            connection.write("submit_sm_resp", pdu.sequence, CommandStatus.ESME_RTHROTTLED)
            return
        now = time.monotonic()
        destination = codec.as_text(pdu.destination_addr)
        if destination.startswith(self.settings.reject_prefixes):
            self.stats.rejected += 1
            connection.write("submit_sm_resp", pdu.sequence, CommandStatus.ESME_RINVDSTADR)
            return
        message_id = f"{self._id_prefix:06x}{next(self._ids):010x}"
        connection.write("submit_sm_resp", pdu.sequence, message_id=message_id)
        stats.submit_times.append(now)
        self.stats.submits += 1
        self.stats.data_codings[pdu.data_coding] += 1
        has_udh = bool(pdu.esm_class & ESM_CLASS_UDHI)
        self.stats.udh_parts += has_udh
        part = decode_short_message(pdu.short_message or b"", pdu.data_coding, pdu.esm_class)
        source = codec.as_text(pdu.source_addr)
        if self.settings.keep_messages:
            self.stats.messages.append(
                ReceivedPart(
                    stats.bind_id,
                    destination,
                    source,
                    pdu.data_coding,
                    has_udh,
                    part.reference,
                    part.total,
                    part.number,
                    part.text,
                    message_id,
                )
            )
        if pdu.registered_delivery & 0x03:
            receipt = _Receipt(
                stats.system_id,
                message_id,
                destination,
                source,
                self.settings.outcomes.pick(destination),
                datetime.now(UTC),
                part.text,
            )
            asyncio.get_running_loop().call_later(self.settings.dlr_delay, self._enqueue, receipt)

    # ---- delivery receipts ---------------------------------------------------------------------

    def _ensure_sender(self, system_id: str) -> None:
        if system_id not in self._senders:
            self._queues[system_id] = asyncio.Queue()
            self._senders[system_id] = asyncio.create_task(self._send_receipts(system_id))

    def _enqueue(self, receipt: _Receipt) -> None:
        self._ensure_sender(receipt.system_id)
        self._queues[receipt.system_id].put_nowait(receipt)

    async def _receiver(self, system_id: str) -> _Connection:
        while True:
            receivers = [c for c in self.connections if c.system_id == system_id and c.receives]
            if receivers:
                return receivers[next(self._receiver_turn) % len(receivers)]
            await asyncio.sleep(0.05)

    async def _send_receipts(self, system_id: str) -> None:
        queue = self._queues[system_id]
        while True:
            receipt = await queue.get()
            connection = await self._receiver(system_id)
            await connection.deliver_window.acquire()
            if connection.transport is None or connection.transport.is_closing():
                connection.deliver_window.release()
                queue.put_nowait(receipt)
                continue
            sequence = next(connection.sequence)
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            connection.pending[sequence] = (future, receipt)
            done = datetime.now(UTC)
            connection.write(
                "deliver_sm",
                sequence,
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=receipt.destination,
                dest_addr_ton=5,
                dest_addr_npi=0,
                destination_addr=receipt.source,
                esm_class=0x04,
                data_coding=0,
                short_message=format_receipt(
                    receipt.message_id,
                    receipt.raw_status,
                    ERROR_CODES[receipt.raw_status],
                    receipt.submitted,
                    done,
                    receipt.text,
                ).encode("ascii", errors="replace"),
                receipted_message_id=receipt.message_id,
                message_state=_MESSAGE_STATE[receipt.raw_status],
            )
            self.stats.dlrs_sent += 1
            future.add_done_callback(functools.partial(self._receipt_answered, connection=connection, receipt=receipt))
            asyncio.get_running_loop().call_later(10.0, self._expire_receipt, connection, sequence)

    def _receipt_answered(self, future: asyncio.Future[int], connection: _Connection, receipt: _Receipt) -> None:
        connection.deliver_window.release()
        if not future.cancelled() and future.exception() is None and future.result() == CommandStatus.ESME_ROK:
            self.stats.dlrs_acked += 1
            self.stats.dlr_statuses[receipt.raw_status] += 1
            return
        self.stats.dlrs_retried += 1
        asyncio.get_running_loop().call_later(self.settings.dlr_retry_delay, self._enqueue, receipt)

    def _expire_receipt(self, connection: _Connection, sequence: int) -> None:
        entry = connection.pending.pop(sequence, None)
        if entry is not None and not entry[0].done():
            entry[0].set_exception(TimeoutError("no deliver_sm_resp"))
