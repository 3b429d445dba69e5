"""deliver_sm from any bind → DeliveryReport (or InboundReply for MO) in Kafka, answered only once the
broker acknowledged; if it cannot within `kafka.delivery_timeout`, ESME_RX_T_APPN makes the SMSC retry
(DESIGN.md section 5). Driven by callbacks, not a task per receipt: the answer is written from the
delivery callback, or by a sweep over the receipts still waiting, if their time runs out first."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from datetime import timedelta

from confluent_kafka import KafkaError

from connector.config import Settings
from connector.correlation import LocalIndex
from connector.kafka.producer import AsyncProducer, Headers
from connector.kafka.reports import ReportRecords
from connector.kafka.serde import Serde
from connector.records import millis
from connector.reporting import FINAL_STATUSES, delivery_report, enrich
from connector.smpp import codec
from connector.smpp.encoding import decode_short_message
from connector.smpp.receipts import ReceiptError, is_delivery_receipt, parse_receipt
from connector.smpp.session import Respond
from connector.smpp.status import CommandStatus
from connector.stats import DeliveryStats

log = logging.getLogger(__name__)


class DeliverHandler:
    def __init__(
        self,
        settings: Settings,
        producer: AsyncProducer,
        reports: ReportRecords,
        reply_serde: Serde,
        index: LocalIndex,
    ) -> None:
        self._topics = settings.kafka.topics
        self._timeout = settings.kafka.delivery_timeout
        self._id_format = settings.smpp.message_id_format
        self._producer = producer
        self._reports = reports
        self._reply_serde = reply_serde
        self._index = index
        self._waiting: deque[_Answer] = deque()  # in arrival order, which is also their deadlines' order
        self._sweep: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.by_status: Counter[str] = Counter()
        self.unparseable = 0
        self.kafka_failures = 0
        self.foreign = 0  # receipts for ids this process did not send (another replica's, or forgotten)
        self.correlated_here = 0

    def stats(self) -> DeliveryStats:
        return DeliveryStats(
            dict(self.by_status), self.unparseable, self.kafka_failures, self.foreign, self.correlated_here
        )

    def __call__(self, pdu: codec.Pdu, respond: Respond) -> None:
        received = time.time()
        if not is_delivery_receipt(pdu.esm_class):
            self._inbound(pdu, received, respond)
            return
        try:
            receipt = parse_receipt(
                pdu.short_message or b"",
                receipted_message_id=codec.as_text(pdu.receipted_message_id) or None,
                message_state=pdu.message_state,
                id_format=self._id_format,
                utc_offset=timedelta(0),
            )
        except ReceiptError as exc:
            self.unparseable += 1
            # Acknowledge: a receipt we cannot parse will not parse on retry either. Keep the bytes.
            headers: Headers = [
                ("__connect.errors.stage", b"SMPP_DLR"),
                ("__connect.errors.exception.message", str(exc).encode()),
            ]
            self._produce(self._topics.dead_letter, None, bytes(pdu.short_message or b""), respond, headers=headers)
            return
        status = receipt.status
        entry = self._index.lookup(receipt.message_id, final=status in FINAL_STATUSES)
        if entry is None:
            self.foreign += 1
        else:
            self.correlated_here += 1
        report = delivery_report(
            provider_message_id=receipt.message_id,
            channel="SMS",
            source="SMPP_DLR",
            status=status,
            raw_status=receipt.raw_status,
            received_at=received,
            error_code=receipt.error_code,
            phone=codec.as_text(pdu.source_addr) or None,
            event_time=millis(receipt.done_date.timestamp()) if receipt.done_date else None,
        )
        topic, key, value = self._reports.record(enrich(report, entry))
        self._produce(topic, key, value, respond, counted=status.value)

    def _inbound(self, pdu: codec.Pdu, received: float, respond: Respond) -> None:
        part = decode_short_message(pdu.short_message or b"", pdu.data_coding, pdu.esm_class)
        phone = codec.as_text(pdu.source_addr)
        reply = {
            "phone": phone,
            "channel": "SMS",
            "provider_message_id": None,
            "text": part.text,
            "media_url": None,
            "file_name": None,
            "recipient": codec.as_text(pdu.destination_addr) or None,
            "event_time": None,
            "received_at": millis(received),
        }
        self._produce(self._topics.inbound_replies, phone, self._reply_serde.encode(reply), respond)

    def _produce(
        self,
        topic: str,
        key: str | None,
        value: bytes,
        respond: Respond,
        *,
        headers: Headers | None = None,
        counted: str | None = None,
    ) -> None:
        """Produce once; answer ESME_ROK on the broker's acknowledgement, ESME_RX_T_APPN on a refusal or
        when `kafka.delivery_timeout` passes first (the SMSC then sends the receipt again)."""
        answer = _Answer(self, respond, counted, time.monotonic() + self._timeout)
        self._waiting.append(answer)
        if self._sweep is None:
            self._schedule_sweep()
        self._producer.produce(topic, key, value, answer.acked, headers)

    def _schedule_sweep(self) -> None:
        # One timer for all the receipts waiting, not a timer made and cancelled for each.
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._sweep = self._loop.call_later(min(1.0, self._timeout / 4), self._expire)

    def _expire(self) -> None:
        waiting, now = self._waiting, time.monotonic()
        while waiting and (waiting[0].done or waiting[0].deadline <= now):
            waiting.popleft().timed_out()
        self._sweep = None
        if waiting:
            self._schedule_sweep()

    def _failed(self, reason: str) -> None:
        self.kafka_failures += 1
        log.warning("report not acknowledged by Kafka (%s); asking the SMSC to retry", reason)


class _Answer:
    """The one answer to one deliver_sm: from the delivery callback or the sweep, whichever is first."""

    __slots__ = ("_counted", "_handler", "_respond", "deadline", "done")

    def __init__(self, handler: DeliverHandler, respond: Respond, counted: str | None, deadline: float) -> None:
        self._handler = handler
        self._respond = respond
        self._counted = counted
        self.deadline = deadline
        self.done = False

    def acked(self, error: KafkaError | None) -> None:
        if self.done:
            return
        self.done = True
        if error is not None:
            self._handler._failed(str(error))
            self._respond(CommandStatus.ESME_RX_T_APPN)
            return
        if self._counted is not None:
            self._handler.by_status[self._counted] += 1
        self._respond(CommandStatus.ESME_ROK)

    def timed_out(self) -> None:
        if self.done:
            return
        self.done = True
        self._handler._failed("no acknowledgement within kafka.delivery_timeout")
        self._respond(CommandStatus.ESME_RX_T_APPN)
