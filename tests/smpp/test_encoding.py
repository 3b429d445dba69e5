from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.smpp.encoding import (
    DCS_GSM,
    DCS_UCS2,
    GSM_SEPTETS,
    Coding,
    EncodingError,
    choose_coding,
    decode_short_message,
    encode_text,
    split_units,
    units,
)

GSM_CHARS = sorted(GSM_SEPTETS)
EXTENSION_CHARS = [c for c, code in GSM_SEPTETS.items() if len(code) == 2]


def reassemble(text: str, *, force: bool | None = None, bits: int = 8) -> tuple[str, list[bytes], int]:
    message = encode_text(text, force_unicode=force, reference=0x1234, reference_bits=bits)
    decoded = [decode_short_message(p, message.data_coding, message.esm_class) for p in message.parts]
    return "".join(d.text for d in decoded), list(message.parts), message.data_coding


def test_gsm_table_maps_section_sign_and_has_no_backtick() -> None:
    # smpplib's defects: '§' must be 0x5F, and '`' is not in GSM 03.38 at all.
    assert GSM_SEPTETS["§"] == b"\x5f"
    assert "`" not in GSM_SEPTETS
    assert encode_text("price `5`", force_unicode=None, reference=1).coding is Coding.UCS2


def test_single_part_limits() -> None:
    assert len(encode_text("a" * 160, force_unicode=None, reference=1).parts) == 1
    assert len(encode_text("a" * 161, force_unicode=None, reference=1).parts) == 2
    assert len(encode_text("ă" * 70, force_unicode=None, reference=1).parts) == 1
    assert len(encode_text("ă" * 71, force_unicode=None, reference=1).parts) == 2
    # '€' costs two septets: 80 of them fill a single message exactly.
    assert len(encode_text("€" * 80, force_unicode=None, reference=1).parts) == 1
    assert len(encode_text("€" * 81, force_unicode=None, reference=1).parts) == 2


def test_udh_with_8_and_16_bit_references() -> None:
    message = encode_text("x" * 200, force_unicode=None, reference=0x1234, reference_bits=8)
    assert message.parts[0][:6] == bytes([5, 0, 3, 0x34, 2, 1])
    assert message.parts[1][:6] == bytes([5, 0, 3, 0x34, 2, 2])
    assert len(message.parts[0]) == 6 + 153
    message16 = encode_text("x" * 200, force_unicode=None, reference=0x1234, reference_bits=16)
    assert message16.parts[0][:7] == bytes([6, 8, 4, 0x12, 0x34, 2, 1])
    assert len(message16.parts[0]) == 7 + 152


def test_forced_gsm_with_non_gsm_text_is_refused() -> None:
    with pytest.raises(EncodingError, match="U\\+0111"):
        encode_text("đ", force_unicode=False, reference=1)


def test_forced_unicode_uses_ucs2() -> None:
    message = encode_text("hello", force_unicode=True, reference=1)
    assert message.data_coding == DCS_UCS2
    assert message.parts == ("hello".encode("utf-16-be"),)


def test_escape_sequence_never_split_at_part_boundary() -> None:
    # 152 plain septets then '€' (2 septets): '€' cannot fit in part 1's 153 septets.
    text = "a" * 152 + "€" + "b" * 10
    _, parts, _ = reassemble(text)
    body = parts[0][6:]
    assert body[-1] != 0x1B
    assert len(body) == 152


@given(st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700))
def test_gsm_round_trip_and_part_sizes(text: str) -> None:
    decoded, parts, dcs = reassemble(text)
    assert dcs == DCS_GSM
    assert decoded == text
    for part in parts:
        body = part[6:] if len(parts) > 1 else part
        assert len(body) <= (153 if len(parts) > 1 else 160)
        assert not body.endswith(b"\x1b") or body.endswith(b"\x1b\x1b")


@given(st.text(max_size=400).filter(lambda t: any(c not in GSM_SEPTETS for c in t)), st.sampled_from([8, 16]))
def test_ucs2_round_trip_never_splits_surrogates(text: str, bits: int) -> None:
    decoded, parts, dcs = reassemble(text, bits=bits)
    assert dcs == DCS_UCS2
    assert decoded == text
    header = 6 if bits == 8 else 7
    for part in parts:
        body = part[header:] if len(parts) > 1 else part
        assert len(body) <= 140 - (header if len(parts) > 1 else 0)
        body.decode("utf-16-be")  # a split surrogate pair would raise here


@given(st.text(max_size=200), st.sampled_from([None, True]))
def test_the_single_part_shortcut_writes_what_the_unit_splitter_writes(text: str, force_unicode: bool | None) -> None:
    coding = choose_coding(text, force_unicode)
    chunks = split_units(units(text, coding), coding, 160 if coding is Coding.GSM else 70)
    message = encode_text(text, force_unicode=force_unicode, reference=7)
    if len(chunks) == 1:
        assert message.parts == (chunks[0],) and message.coding is coding
    else:
        assert len(message.parts) > 1
