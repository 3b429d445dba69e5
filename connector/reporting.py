"""The vocabulary of delivery reports, shared by every channel (SMPP DLRs, SMS and chat-app callbacks,
the correlator): report statuses and their raw provider spellings (DESIGN.md section 3), provider
message ids in one normalized form so a submit answer and its report compare equal, and the two
builders every intake uses: `delivery_report()` for a new report, `enrich()` to tie it to its request."""

from __future__ import annotations

import enum
from typing import Any

from connector.correlation import IndexEntry
from connector.records import millis


class ReportStatus(enum.Enum):
    DELIVERED = "DELIVERED"
    SEEN = "SEEN"
    UNDELIVERED = "UNDELIVERED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


RAW_STATUS_MAP: dict[str, ReportStatus] = {
    "DELIVRD": ReportStatus.DELIVERED,
    "DELIVERD": ReportStatus.DELIVERED,
    "DELIVERED": ReportStatus.DELIVERED,
    "UNDELIV": ReportStatus.UNDELIVERED,
    "UNDELIVERABLE": ReportStatus.UNDELIVERED,
    "DELETED": ReportStatus.UNDELIVERED,
    "REJECTD": ReportStatus.REJECTED,
    "REJECTED": ReportStatus.REJECTED,
    "EXPIRED": ReportStatus.EXPIRED,
    "UNKNOWN": ReportStatus.UNKNOWN,
    "SEEN": ReportStatus.SEEN,
}

FINAL_STATUSES = frozenset(
    {ReportStatus.DELIVERED, ReportStatus.UNDELIVERED, ReportStatus.REJECTED, ReportStatus.EXPIRED}
)


def normalize_status(raw: str) -> ReportStatus:
    return RAW_STATUS_MAP.get(raw.strip().upper(), ReportStatus.UNKNOWN)


class MessageIdFormat(enum.Enum):
    """How the SMSC writes message ids, so submit_sm_resp and receipt ids compare equal."""

    TEXT = "text"  # compared case-insensitively, as given
    HEX = "hex"  # hexadecimal; leading zeros and case do not matter
    DECIMAL = "decimal"  # decimal; leading zeros do not matter
    HEX_IN_RECEIPT_DECIMAL = "hex-decimal"  # submit_sm_resp in hex, receipts in decimal


def normalize_message_id(raw: str, fmt: MessageIdFormat, *, from_receipt: bool = False) -> str:
    value = raw.strip().strip("\x00").lower()
    if fmt is MessageIdFormat.TEXT:
        return value
    try:
        if fmt is MessageIdFormat.HEX or (fmt is MessageIdFormat.HEX_IN_RECEIPT_DECIMAL and not from_receipt):
            return format(int(value, 16), "x")
        if fmt is MessageIdFormat.DECIMAL:
            return str(int(value, 10))
        if fmt is MessageIdFormat.HEX_IN_RECEIPT_DECIMAL:
            return format(int(value, 10), "x")
    except ValueError:
        pass
    return value


def delivery_report(
    *,
    provider_message_id: str,
    channel: str,
    source: str,
    status: ReportStatus,
    raw_status: str,
    received_at: float,
    error_code: str | None = None,
    price: str | None = None,
    currency: str | None = None,
    phone: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    """A DeliveryReport not tied to its request yet (request_id null); `received_at` in epoch seconds,
    `event_time` in epoch millis."""
    return {
        "request_id": None,
        "provider_message_id": provider_message_id,
        "channel": channel,
        "source": source,
        "status": status.value,
        "raw_status": raw_status,
        "error_code": error_code,
        "price": price,
        "currency": currency,
        "part_number": None,
        "total_parts": None,
        "phone": phone,
        "event_time": event_time,
        "received_at": millis(received_at),
        "metadata": {},
    }


def enrich(report: dict[str, Any], entry: IndexEntry | None) -> dict[str, Any]:
    """The report tied to the request its message id was sent for; unchanged without an entry."""
    if entry is None:
        return report
    return {
        **report,
        "request_id": entry.request_id,
        "channel": entry.channel,
        "part_number": entry.part_number,
        "total_parts": entry.total_parts,
        "metadata": entry.metadata,
    }
