from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connector.reporting import MessageIdFormat, ReportStatus, normalize_message_id
from connector.smpp.receipts import (
    ReceiptError,
    parse_receipt,
    parse_receipt_date,
    parse_receipt_text,
    split_receipt_fields,
)

SEED_RECEIPT = (
    b"id:12345678 sub:000 dlvrd:001 submit date:2112310215 done date:2112310215 stat:DELIVRD err:000 text:this is text"
)


def test_seed_receipt() -> None:
    receipt = parse_receipt(SEED_RECEIPT)
    assert receipt.message_id == "12345678"
    assert receipt.status is ReportStatus.DELIVERED
    assert receipt.raw_status == "DELIVRD"
    assert receipt.error_code == "000"
    assert receipt.done_date == datetime(2021, 12, 31, 2, 15, tzinfo=UTC)
    assert receipt.text == "this is text"


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("DELIVRD", "DELIVERED"),
        ("DELIVERD", "DELIVERED"),
        ("UNDELIV", "UNDELIVERED"),
        ("REJECTD", "REJECTED"),
        ("EXPIRED", "EXPIRED"),
        ("UNKNOWN", "UNKNOWN"),
        ("WHATEVER", "UNKNOWN"),
    ],
)
def test_status_mapping(stat: str, status: str) -> None:
    assert parse_receipt(f"id:1 stat:{stat} err:001".encode()).status.value == status


def test_fields_in_any_order_twelve_digit_dates_and_capital_text() -> None:
    receipt = parse_receipt(b"stat:UNDELIV Text:hello id:0A1b done date:211231021530 err:045")
    assert receipt.message_id == "0a1b"
    assert receipt.status is ReportStatus.UNDELIVERED
    assert receipt.done_date == datetime(2021, 12, 31, 2, 15, 30, tzinfo=UTC)
    assert receipt.error_code == "045"
    assert receipt.text == "hello"


def test_tlvs_win_over_text() -> None:
    receipt = parse_receipt(b"id:999 stat:DELIVRD", receipted_message_id="abc", message_state=5)
    assert receipt.message_id == "abc"
    assert receipt.status is ReportStatus.DELIVERED  # text stat present: kept as the raw status
    only_tlv = parse_receipt(b"", receipted_message_id="abc", message_state=8)
    assert only_tlv.status is ReportStatus.REJECTED and only_tlv.raw_status == "REJECTD"


def test_text_quoting_receipt_words_does_not_override_fields() -> None:
    receipt = parse_receipt(b"id:42 stat:DELIVRD err:000 text:id:7 stat:REJECTD")
    assert receipt.message_id == "42"
    assert receipt.status is ReportStatus.DELIVERED


@pytest.mark.parametrize("garbage", [b"", b"hello world", b"stat:DELIVRD", b"\xff\xfe\x00"])
def test_garbage_raises_receipt_error(garbage: bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_receipt(garbage)


def test_bad_dates_are_ignored_not_fatal() -> None:
    receipt = parse_receipt(b"id:1 submit date:99999 done date:2113990215 stat:DELIVRD")
    assert receipt.submit_date is None and receipt.done_date is None
    assert parse_receipt_date("٢٥١١٢٩١٢٠٠") is None  # Arabic-Indic digits, which int() would read


def test_message_id_normalization() -> None:
    assert normalize_message_id("000ABC", MessageIdFormat.HEX) == normalize_message_id("abc", MessageIdFormat.HEX)
    assert normalize_message_id("0042", MessageIdFormat.DECIMAL) == "42"
    assert normalize_message_id("255", MessageIdFormat.HEX_IN_RECEIPT_DECIMAL, from_receipt=True) == "ff"
    assert normalize_message_id("00FF", MessageIdFormat.HEX_IN_RECEIPT_DECIMAL) == "ff"
    assert normalize_message_id("AbC-1", MessageIdFormat.TEXT) == "abc-1"


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_receipt_error(data: bytes) -> None:
    with contextlib.suppress(ReceiptError):
        parse_receipt(data)


@given(st.text(alphabet="0123456789", min_size=10, max_size=12))
def test_receipt_dates_read_as_strptime_reads_them(value: str) -> None:
    try:
        expected = datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        expected = None
    if len(value) == 11:
        expected = None
    assert parse_receipt_date(value) == expected


# Pieces, not characters: values that hold spaces, colons and receipt keys are where the two could part.
_SOLID_PIECES = ["0", "7", "a", "F", ":", "-", "id", "text", "stat:"]
_SOLID_VALUE = st.lists(st.sampled_from(_SOLID_PIECES)).map("".join)  # what the one match reads
_ANY_VALUE = st.lists(st.sampled_from([*_SOLID_PIECES, " ", "\t", " stat:", " id:", "\ttext:"])).map("".join)


@given(
    st.one_of(st.lists(_SOLID_VALUE, min_size=7, max_size=7), st.lists(_ANY_VALUE, min_size=7, max_size=7)),
    st.one_of(st.none(), _ANY_VALUE),
    st.sampled_from(["", " ", "  ", "\n"]),
    st.sampled_from(["text:", "Text:", "text :"]),
)
@example(["1"] * 7, "quoted stat:X", "", "text:")  # a field key in the text: the one match must not keep it
@example(["1"] * 7, "no colon at all", "", "text:")
def test_the_usual_layout_reads_as_the_general_split_reads_it(
    values: list[str], text: str | None, trailing: str, text_key: str
) -> None:
    keys = ["id", "sub", "dlvrd", "submit date", "done date", "stat", "err"]
    receipt = " ".join(f"{key}:{value}" for key, value in zip(keys, values, strict=True))
    if text is not None:
        receipt += f" {text_key}{text}"
    receipt += trailing
    assert parse_receipt_text(receipt) == split_receipt_fields(receipt)


@given(st.text(alphabet="0123456789²³¹", min_size=10, max_size=12))
@example("2511291200²²")  # the seconds: read before the date is checked
def test_dates_with_digits_beyond_ascii_are_ignored_not_fatal(value: str) -> None:
    """A receipt is read as latin-1, where bytes B2, B3 and B9 are "²", "³" and "¹": str.isdigit() takes
    them, int() does not. Such a date is ignored like any other bad date; the receipt still parses."""
    receipt = parse_receipt(f"id:1 submit date:{value} done date:{value} stat:DELIVRD".encode("latin-1"))
    assert receipt.status.value == "DELIVERED"
    if not value.isascii():
        assert receipt.submit_date is None and receipt.done_date is None
