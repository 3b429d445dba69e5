"""deliver_sm from any bind → DeliveryReport (or InboundReply for MO) in Kafka, answered only once the
broker acknowledged; if it cannot, ESME_RX_T_APPN makes the SMSC retry (DESIGN.md section 5)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import timedelta

from connector.config import Settings
from connector.correlation import LocalIndex
from connector.errors import KafkaDeliveryError
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde
from connector.records import millis
from connector.reporting import FINAL_STATUSES, delivery_report, enrich
from connector.smpp import codec
from connector.smpp.encoding import decode_short_message
from connector.smpp.receipts import ReceiptError, is_delivery_receipt, parse_receipt
from connector.smpp.status import CommandStatus
from connector.stats import DeliveryStats

log = logging.getLogger(__name__)


class DeliverHandler:
    def __init__(
        self,
        settings: Settings,
        producer: AsyncProducer,
        report_serde: Serde,
        reply_serde: Serde,
        index: LocalIndex,
    ) -> None:
        self._topics = settings.kafka.topics
        self._timeout = settings.kafka.delivery_timeout
        self._id_format = settings.smpp.message_id_format
        self._producer = producer
        self._report_serde = report_serde
        self._reply_serde = reply_serde
        self._index = index
        self.by_status: Counter[str] = Counter()
        self.unparseable = 0
        self.kafka_failures = 0
        self.foreign = 0  # receipts for ids this process did not send (another replica's, or forgotten)

    def stats(self) -> DeliveryStats:
        return DeliveryStats(dict(self.by_status), self.unparseable, self.kafka_failures, self.foreign)

    async def __call__(self, pdu: codec.Pdu) -> CommandStatus:
        received = time.time()
        if not is_delivery_receipt(pdu.esm_class):
            return await self._inbound(pdu, received)
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
            futures = [
                self._producer.produce_and_wait(
                    self._topics.dead_letter,
                    None,
                    bytes(pdu.short_message or b""),
                    headers=[
                        ("__connect.errors.stage", b"SMPP_DLR"),
                        ("__connect.errors.exception.message", str(exc).encode()),
                    ],
                )
            ]
            return await self._acknowledged(futures)
        status = receipt.status
        entry = self._index.lookup(receipt.message_id, final=status in FINAL_STATUSES)
        if entry is None:
            self.foreign += 1
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
        report = enrich(report, entry)
        value = self._report_serde.encode(report)
        # delivery-reports is the correlator's output (DESIGN.md section 8); this only enriches what it knows.
        futures = [self._producer.produce_and_wait(self._topics.reports_raw, receipt.message_id, value)]
        result = await self._acknowledged(futures)
        if result == CommandStatus.ESME_ROK:
            self.by_status[status.value] += 1
        return result

    async def _inbound(self, pdu: codec.Pdu, received: float) -> CommandStatus:
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
        value = self._reply_serde.encode(reply)
        return await self._acknowledged([self._producer.produce_and_wait(self._topics.inbound_replies, phone, value)])

    async def _acknowledged(self, futures: list[asyncio.Future[None]]) -> CommandStatus:
        try:
            await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        except (TimeoutError, KafkaDeliveryError) as exc:
            self.kafka_failures += 1
            log.warning("report not acknowledged by Kafka (%s); asking the SMSC to retry", exc)
            return CommandStatus.ESME_RX_T_APPN
        return CommandStatus.ESME_ROK
