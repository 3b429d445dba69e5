"""The vocabulary of delivery reports, shared by every channel (SMPP DLRs, SMS and chat-app callbacks,
the correlator): report statuses and their raw provider spellings (DESIGN.md section 3), and provider
message ids in one normalized form so a submit answer and its report compare equal."""

from __future__ import annotations

import enum


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
