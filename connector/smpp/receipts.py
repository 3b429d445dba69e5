"""Delivery receipts: the `message_state` / `receipted_message_id` TLVs first, then the receipt text.

The text parser is tolerant (DESIGN.md section 5): fields in any order, any of them missing, 10- or
12-digit dates, `text:` or `Text:`, `DELIVRD` and the seed's `DELIVERD` spelling alike.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

from connector.errors import ConnectorError
from connector.reporting import MessageIdFormat, ReportStatus, normalize_message_id, normalize_status

ESM_CLASS_DELIVERY_RECEIPT = 0x04
_MESSAGE_TYPE_MASK = 0x3C


# SMPP 3.4 section 5.2.28 message_state values, as the raw status names they stand for.
MESSAGE_STATE_NAMES: dict[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_FIELD = re.compile(r"(?i)(?:^|(?<=\s))(id|sub|dlvrd|submit date|done date|stat|err|text)\s*:")
_USUAL = re.compile(r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)")


class Receipt(NamedTuple):  # one per DLR: a named tuple is built at a fifth of a frozen dataclass's cost
    message_id: str
    raw_status: str
    status: ReportStatus
    error_code: str | None
    submit_date: datetime | None
    done_date: datetime | None
    text: str | None


class ReceiptError(ConnectorError, ValueError):
    pass


def parse_receipt_text(text: str) -> dict[str, str]:
    """The receipt's `key:value` fields. The layout SMSCs write (SMPP 3.4 Appendix B) is read with one
    match; anything else, and any doubt, goes to `split_receipt_fields`, which gives the same answer
    for the usual layout (a property test holds the two equal) at about two and a half times the cost."""
    usual = _USUAL.match(text)
    if usual is not None:
        end = usual.end()
        rest = text[end:]
        if not rest.strip():
            return _usual_fields(usual)
        # A text without a colon cannot hold another field: the field search is skipped (0.8 us).
        if rest.startswith(" text:") and (rest.find(":", 6) < 0 or _FIELD.search(text, end + 6) is None):
            fields = _usual_fields(usual)
            fields["text"] = rest[6:].strip()
            return fields
    return split_receipt_fields(text)


def _usual_fields(usual: re.Match[str]) -> dict[str, str]:
    message_id, sub, dlvrd, submit_date, done_date, stat, err = usual.groups()
    return {
        "id": message_id,
        "sub": sub,
        "dlvrd": dlvrd,
        "submit date": submit_date,
        "done date": done_date,
        "stat": stat,
        "err": err,
    }


def split_receipt_fields(text: str) -> dict[str, str]:
    """Split `key:value` fields in any order; the first occurrence of a key wins, so a `text:` that
    quotes receipt-like words cannot override the real fields before it."""
    fields: dict[str, str] = {}
    pieces = _FIELD.split(text)  # [before, key, value, key, value, ...] in one pass
    for index in range(1, len(pieces) - 1, 2):
        key = pieces[index].lower()
        if key not in fields:
            fields[key] = pieces[index + 1].strip()
    return fields


def parse_receipt_date(value: str | None, utc_offset: timedelta = timedelta(0)) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss in the SMSC's zone, years as strptime's %y reads them (69-99 are
    19xx); anything else is ignored, not fatal. Sliced by hand: strptime cost as much as the rest of
    the receipt. Remembered: receipts arriving together mostly carry the same minute."""
    if not value:
        return None
    return _receipt_date(value, utc_offset)


@functools.lru_cache(maxsize=4096)
def _receipt_date(value: str, utc_offset: timedelta) -> datetime | None:
    if len(value) not in (10, 12) or not (value.isascii() and value.isdigit()):  # isdigit() alone takes "²"
        return None
    seconds = int(value[10:12]) if len(value) == 12 else 0
    year = int(value[0:2])
    try:
        return datetime(
            year + (2000 if year < 69 else 1900),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            seconds,
            tzinfo=_ZONES.get(utc_offset) or timezone(utc_offset),
        )
    except ValueError:
        return None


_ZONES = {timedelta(0): UTC}


def is_delivery_receipt(esm_class: int) -> bool:
    return (esm_class & _MESSAGE_TYPE_MASK) == ESM_CLASS_DELIVERY_RECEIPT


def parse_receipt(
    short_message: bytes,
    *,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
    id_format: MessageIdFormat = MessageIdFormat.TEXT,
    utc_offset: timedelta = timedelta(0),
) -> Receipt:
    text = short_message.decode("latin-1", errors="replace")
    fields = parse_receipt_text(text)
    if receipted_message_id:
        message_id = normalize_message_id(receipted_message_id, id_format)
    elif fields.get("id"):
        message_id = normalize_message_id(fields["id"], id_format, from_receipt=True)
    else:
        raise ReceiptError("no message id in receipt (neither receipted_message_id nor id:)")
    if message_state in MESSAGE_STATE_NAMES and not fields.get("stat"):
        raw_status = MESSAGE_STATE_NAMES[message_state]
    elif fields.get("stat"):
        raw_status = fields["stat"].split()[0].upper()
    elif message_state is not None:
        raw_status = MESSAGE_STATE_NAMES.get(message_state, "UNKNOWN")
    else:
        raise ReceiptError("no status in receipt (neither message_state nor stat:)")
    status = normalize_status(raw_status)
    if message_state in MESSAGE_STATE_NAMES and status is ReportStatus.UNKNOWN:
        raw_status = MESSAGE_STATE_NAMES[message_state]
        status = normalize_status(raw_status)
    return Receipt(
        message_id=message_id,
        raw_status=raw_status,
        status=status,
        error_code=fields.get("err") or None,
        submit_date=parse_receipt_date(fields.get("submit date"), utc_offset),
        done_date=parse_receipt_date(fields.get("done date"), utc_offset),
        text=fields.get("text"),
    )


def format_receipt(
    message_id: str, raw_status: str, error_code: str, submitted: datetime, done: datetime, text: str
) -> str:
    """The seed's receipt layout, used by the simulator."""
    return (
        f"id:{message_id} sub:001 dlvrd:{'001' if raw_status == 'DELIVRD' else '000'} "
        f"submit date:{submitted:%y%m%d%H%M} done date:{done:%y%m%d%H%M} stat:{raw_status} err:{error_code} "
        f"text:{text[:20]}"
    )
