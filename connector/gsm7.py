"""The GSM 03.38 alphabet: which text fits 7-bit GSM, and its septets. Shared by the SMPP codec (which
encodes with it), the REST payloads (which tell the provider whether a text is unicode) and validation."""

from __future__ import annotations

# GSM 03.38 basic character set, indexed by septet value. 0x1B is the escape to the extension table.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
ESC = 0x1B

GSM_SEPTETS: dict[str, bytes] = {char: bytes([code]) for code, char in enumerate(_BASIC) if code != ESC}
GSM_SEPTETS.update({char: bytes([ESC, code]) for char, code in _EXTENSION.items()})
GSM_DECODE: dict[int, str] = {code: char for code, char in enumerate(_BASIC) if code != ESC}
GSM_DECODE_EXTENSION: dict[int, str] = {code: char for char, code in _EXTENSION.items()}


_GSM_CHARS = frozenset(GSM_SEPTETS)


def fits_gsm(text: str) -> bool:
    return _GSM_CHARS.issuperset(text)


def first_outside_gsm(text: str) -> str | None:
    return next((char for char in text if char not in GSM_SEPTETS), None)
