"""Where a delivery report goes, and as what bytes: straight to delivery-reports, keyed by request_id,
when the process that received it already tied it to its request (one record, no hop through the
correlator); to reports-raw, keyed by provider message id, for the correlator's join otherwise. Shared
by the SMPP intake and the webhook."""

from __future__ import annotations

from typing import Any

from connector.config import Topics
from connector.kafka.serde import Serde


class ReportRecords:
    def __init__(self, topics: Topics, raw: Serde, correlated: Serde) -> None:
        self._topics = topics
        self._raw = raw  # for reports-raw (its own serde: the Confluent subject is per topic)
        self.correlated = correlated  # for delivery-reports

    def record(self, report: dict[str, Any]) -> tuple[str, str, bytes]:
        """(topic, key, value) of `report`."""
        request_id: str | None = report["request_id"]
        if request_id is not None:
            return self._topics.delivery_reports, request_id, self.correlated.encode(report)
        return self._topics.reports_raw, report["provider_message_id"], self._raw.encode(report)
