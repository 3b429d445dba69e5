"""Text to SMPP short_message parts: GSM 03.38 or UCS2, split with a concatenation UDH.

GSM 03.38 text goes out unpacked (one septet per octet, DCS 0); the SMSC packs it. UCS2 is UTF-16-BE
(DCS 8), so characters outside the BMP take two code units and a surrogate pair is never split. An
escape-table character costs two septets and is never split either (DESIGN.md section 5). smpplib's
own table and `make_parts` are not used: its `§` and backtick mappings are wrong and its splitter can
cut escapes and surrogates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connector.errors import ConnectorError
from connector.gsm7 import ESC, GSM_DECODE, GSM_DECODE_EXTENSION, GSM_SEPTETS, fits_gsm

DCS_GSM = 0x00
DCS_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40

# Single-message capacity and per-part capacity with an 8-bit or 16-bit reference UDH (in septets for
# GSM, in UTF-16 code units for UCS2). 140 octets minus a 6- or 7-octet UDH.
_SINGLE = {"gsm": 160, "ucs2": 70}
_PER_PART = {("gsm", 8): 153, ("gsm", 16): 152, ("ucs2", 8): 67, ("ucs2", 16): 66}
MAX_PARTS = 255


_GSM_TRANSLATION = {ord(char): septets.decode("latin-1") for char, septets in GSM_SEPTETS.items()}


class Coding(enum.Enum):
    GSM = "gsm"
    UCS2 = "ucs2"

    @property
    def data_coding(self) -> int:
        return DCS_GSM if self is Coding.GSM else DCS_UCS2


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """What the bind pool sends: one short_message per part, with its UDH already in front."""

    coding: Coding
    parts: tuple[bytes, ...]

    @property
    def data_coding(self) -> int:
        return self.coding.data_coding

    @property
    def esm_class(self) -> int:
        return ESM_CLASS_UDHI if len(self.parts) > 1 else 0


class EncodingError(ConnectorError, ValueError):
    pass


def choose_coding(text: str, force_unicode: bool | None) -> Coding:
    if force_unicode is True:
        return Coding.UCS2
    if fits_gsm(text):
        return Coding.GSM
    if force_unicode is False:
        bad = next(char for char in text if char not in GSM_SEPTETS)
        raise EncodingError(f"unicode is false but {bad!r} (U+{ord(bad):04X}) is not in the GSM 03.38 alphabet")
    return Coding.UCS2


def units(text: str, coding: Coding) -> list[bytes]:
    """The text as indivisible units: one character each, already encoded."""
    if coding is Coding.GSM:
        table = GSM_SEPTETS
        return [table[char] for char in text]
    return [char.encode("utf-16-be") for char in text]


def _unit_cost(unit: bytes, coding: Coding) -> int:
    # GSM: septets (1 or 2). UCS2: code units of two octets (1, or 2 for a surrogate pair).
    return len(unit) if coding is Coding.GSM else len(unit) // 2


def split_units(encoded: list[bytes], coding: Coding, capacity: int) -> list[bytes]:
    """Greedy split into chunks of at most `capacity`, never cutting an escape or surrogate pair."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    used = 0
    for unit in encoded:
        cost = _unit_cost(unit, coding)
        if used + cost > capacity:
            chunks.append(b"".join(current))
            current, used = [], 0
        current.append(unit)
        used += cost
    if current or not chunks:
        chunks.append(b"".join(current))
    return chunks


def udh(reference: int, total: int, number: int, reference_bits: int) -> bytes:
    if reference_bits == 16:
        return bytes([0x06, 0x08, 0x04, (reference >> 8) & 0xFF, reference & 0xFF, total, number])
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, number])


def encode_text(text: str, *, force_unicode: bool | None, reference: int, reference_bits: int = 8) -> EncodedMessage:
    """Encode and split `text`; `reference` identifies the concatenated message at the handset."""
    if reference_bits not in (8, 16):
        raise ValueError("reference_bits must be 8 or 16")
    coding = choose_coding(text, force_unicode)
    if coding is Coding.GSM:
        septets = text.translate(_GSM_TRANSLATION)  # one char per septet, escapes as two: C speed
        if len(septets) <= _SINGLE["gsm"]:
            return EncodedMessage(coding, (septets.encode("latin-1"),))
    elif len(text) <= _SINGLE["ucs2"] // 2 or len(text.encode("utf-16-be")) <= 2 * _SINGLE["ucs2"]:
        return EncodedMessage(coding, (text.encode("utf-16-be"),))
    encoded = units(text, coding)
    total_cost = sum(_unit_cost(unit, coding) for unit in encoded)
    if total_cost <= _SINGLE[coding.value]:
        return EncodedMessage(coding, (b"".join(encoded),))
    chunks = split_units(encoded, coding, _PER_PART[(coding.value, reference_bits)])
    if len(chunks) > MAX_PARTS:
        raise EncodingError(f"text needs {len(chunks)} parts, more than {MAX_PARTS}")
    total = len(chunks)
    return EncodedMessage(
        coding,
        tuple(udh(reference, total, number, reference_bits) + chunk for number, chunk in enumerate(chunks, 1)),
    )


@dataclass(frozen=True, slots=True)
class DecodedPart:
    """A short_message read back (by the simulator and tests): text and concatenation info."""

    text: str
    reference: int | None
    total: int
    number: int


def decode_short_message(short_message: bytes, data_coding: int, esm_class: int) -> DecodedPart:
    reference: int | None = None
    total = number = 1
    body = short_message
    if esm_class & ESM_CLASS_UDHI and body:
        header_length = body[0]
        header, body = body[1 : 1 + header_length], body[1 + header_length :]
        position = 0
        while position + 2 <= len(header):
            iei, length = header[position], header[position + 1]
            value = header[position + 2 : position + 2 + length]
            if iei == 0x00 and length == 3:
                reference, total, number = value[0], value[1], value[2]
            elif iei == 0x08 and length == 4:
                reference, total, number = (value[0] << 8) | value[1], value[2], value[3]
            position += 2 + length
    if data_coding == DCS_UCS2:
        return DecodedPart(body.decode("utf-16-be", errors="replace"), reference, total, number)
    return DecodedPart(decode_gsm(body), reference, total, number)


def decode_gsm(septets: bytes) -> str:
    chars: list[str] = []
    escaped = False
    for code in septets:
        if escaped:
            chars.append(GSM_DECODE_EXTENSION.get(code, " "))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            chars.append(GSM_DECODE.get(code, "?"))
    return "".join(chars)
