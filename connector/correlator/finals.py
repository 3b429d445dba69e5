"""Request-level final status for multipart SMS: once every part of a request has a final report, one
more DeliveryReport for the request as a whole (part_number null), DELIVERED only if every part was.

It reads `delivery-reports`, which is keyed by request_id, so all parts of a request reach the same
instance whichever correlator partitions their provider ids fell in. Part statuses wait in SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Message

from connector.config import Settings
from connector.correlator.store import PartsStore
from connector.errors import SerdeError
from connector.kafka.messages import is_record, position
from connector.kafka.offsets import OffsetTracker, commit_completed
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde
from connector.reporting import FINAL_STATUSES, ReportStatus

log = logging.getLogger(__name__)

# A part that reported UNKNOWN is done too: the provider will not say more about it (seed: "unknown
# error occurred"), so waiting for it would keep the request open forever.
_FINAL = {status.value for status in FINAL_STATUSES} | {ReportStatus.UNKNOWN.value}


def request_status(part_statuses: list[str]) -> str:
    """DELIVERED only if every part was; otherwise the first part's failure, in part order."""
    failed = [status for status in part_statuses if status != ReportStatus.DELIVERED.value]
    return failed[0] if failed else ReportStatus.DELIVERED.value


class RequestFinals:
    def __init__(self, settings: Settings, producer: AsyncProducer, report_serde: Serde) -> None:
        self._topic = settings.kafka.topics.delivery_reports
        self._producer = producer
        self._serde = report_serde
        directory = Path(settings.correlator.store_dir or tempfile.mkdtemp(prefix="vihat-finals-"))
        self._store = PartsStore(directory / "parts.sqlite")
        self._offsets = OffsetTracker()
        self.emitted = 0
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka.bootstrap_servers,
                "group.id": f"{settings.kafka.group_id}-finals",
                "enable.auto.commit": "false",
                "auto.offset.reset": "earliest",
                **settings.kafka.membership(),
                **settings.kafka.consumer,
            }
        )

    async def run(self, stop: asyncio.Event) -> None:
        consumer = self._consumer
        consumer.subscribe([self._topic], on_revoke=lambda c, _: commit_completed(c, self._offsets, synchronous=True))
        last_commit = time.monotonic()
        try:
            while not stop.is_set():
                messages = consumer.consume(500, timeout=0)
                for message in messages:
                    self._accept(message)
                if time.monotonic() - last_commit >= 1.0:
                    commit_completed(consumer, self._offsets, synchronous=False)
                    last_commit = time.monotonic()
                await asyncio.sleep(0 if messages else 0.01)
        finally:
            await self._producer.flush()
            commit_completed(consumer, self._offsets, synchronous=True)
            consumer.close()
            self._store.close()

    def _accept(self, message: Message) -> None:
        if not is_record(message):
            return
        topic, partition, offset = position(message)
        self._offsets.track(topic, partition, offset)
        try:
            report = self._serde.decode(message.value() or b"")
        except SerdeError:
            self._offsets.complete(topic, partition, offset)
            return
        statuses = self._part_statuses(report)
        if statuses is None:
            self._offsets.complete(topic, partition, offset)
            return
        final = self._request_report(report, statuses)
        self.emitted += 1
        self._producer.produce_reliably(
            self._topic,
            report["request_id"],
            self._serde.encode(final),
            lambda: self._offsets.complete(topic, partition, offset),
        )

    def _part_statuses(self, report: dict[str, Any]) -> list[str] | None:
        """Record a final part report; all statuses once the request is complete, else None."""
        part, total = report["part_number"], report["total_parts"]
        if report["request_id"] is None or part is None or not total or total < 2 or report["status"] not in _FINAL:
            return None  # not a part of a multipart request, or our own request-level record
        return self._store.record(report["request_id"], part, total, report["status"])

    @staticmethod
    def _request_report(report: dict[str, Any], statuses: list[str]) -> dict[str, Any]:
        status = request_status(statuses)
        return {
            **report,
            "status": status,
            "raw_status": "REQUEST:" + ",".join(statuses),
            "error_code": None,
            "part_number": None,
            "received_at": int(time.time() * 1000),
        }
