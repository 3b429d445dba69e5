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

from confluent_kafka import Message

from connector.config import Settings
from connector.correlator.store import PartsStore
from connector.errors import SerdeError
from connector.kafka.consumer import ConsumerLoop, consumer_config
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde, SingleObjectSerde
from connector.reporting import FINAL_STATUSES, ReportStatus
from connector.stats import FinalsStats

log = logging.getLogger(__name__)

# A part that reported UNKNOWN is done too: the provider will not say more about it (seed: "unknown
# error occurred"), so waiting for it would keep the request open forever.
_FINAL = {status.value for status in FINAL_STATUSES} | {ReportStatus.UNKNOWN.value}


def request_status(part_statuses: list[str]) -> str:
    """DELIVERED only if every part was; otherwise the first part's failure, in part order."""
    failed = [status for status in part_statuses if status != ReportStatus.DELIVERED.value]
    return failed[0] if failed else ReportStatus.DELIVERED.value


def _is_final_part(request_id: str | None, part: int | None, total: int | None, status: str) -> bool:
    """A part of a multipart request with its final status; not a single part, nor a request-level record."""
    return request_id is not None and part is not None and total is not None and total >= 2 and status in _FINAL


class RequestFinals:
    def __init__(self, settings: Settings, producer: AsyncProducer, report_serde: Serde) -> None:
        self._topic = settings.kafka.topics.delivery_reports
        self._producer = producer
        self._serde = report_serde
        directory = Path(settings.correlator.store_dir or tempfile.mkdtemp(prefix="vihat-finals-"))
        self._store = PartsStore(directory / "parts.sqlite")
        self.emitted = 0
        config = consumer_config(
            settings.kafka, f"{settings.kafka.group_id}-finals", **settings.correlator.fetch_settings()
        )
        self._kafka = ConsumerLoop(config, producer, settings.kafka.topics.dead_letter)

    async def run(self, stop: asyncio.Event) -> None:
        self._kafka.subscribe([self._topic], on_revoke=lambda _consumer, _partitions: self._kafka.commit(True))
        try:
            await self._kafka.run(stop, self._accept)
        finally:
            await self._kafka.close()
            self._store.close()

    def _accept(self, message: Message) -> None:
        value = message.value() or b""
        try:
            if not self._may_be_a_final_part(value):
                self._kafka.passed(message)
                return
            report = self._serde.decode(value)
        except SerdeError:
            self._kafka.passed(message)  # not ours to judge: the correlator wrote it, its readers see it
            return
        self._kafka.track(message)
        statuses = self._part_statuses(report)
        if statuses is None:
            self._kafka.complete(message)
            return
        final = self._request_report(report, statuses)
        self.emitted += 1
        self._producer.produce_reliably(
            self._topic, report["request_id"], self._serde.encode(final), self._kafka.completion(message)
        )

    def _may_be_a_final_part(self, value: bytes) -> bool:
        """Most reports are of single-part messages: told from their leading fields, without decoding
        the whole record (about 10 us each)."""
        if not isinstance(self._serde, SingleObjectSerde):
            return True
        head = self._serde.leading(value, 11)  # request_id ... total_parts
        return _is_final_part(head["request_id"], head["part_number"], head["total_parts"], head["status"])

    @property
    def broker_requests(self) -> int:
        """Requests its consumer has sent to the brokers."""
        return self._kafka.broker_requests

    def stats(self) -> FinalsStats:
        return FinalsStats(self.emitted)

    def _part_statuses(self, report: dict[str, Any]) -> list[str] | None:
        """Record a final part report; all statuses once the request is complete, else None."""
        part, total = report["part_number"], report["total_parts"]
        if not _is_final_part(report["request_id"], part, total, report["status"]):
            return None
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
