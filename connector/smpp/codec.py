"""PDU encoding and decoding, with python-smpplib as the codec.

smpplib's PDU objects take their sequence number from a client; passing `sequence=` to `make_pdu` is
silently ignored, so it is set on the object after construction. Nothing here logs a PDU: they carry
phone numbers and message text.
"""

from __future__ import annotations

import struct
from typing import Any

from smpplib import smpp

HEADER = struct.Struct(">LLLL")
MAX_PDU_LENGTH = 64 * 1024

Pdu = Any  # smpplib PDU objects carry their fields as attributes, untyped


class _NoSequence:
    """Stands in for smpplib's client: the session owns sequence numbers."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


_CLIENT = _NoSequence()


def encode(command: str, sequence: int, status: int = 0, **fields: Any) -> bytes:
    pdu = smpp.make_pdu(command, client=_CLIENT, **fields)
    pdu.sequence = sequence
    pdu.status = status
    data: bytes = pdu.generate()
    return data


def decode(data: bytes) -> Pdu:
    pdu: Pdu = smpp.parse_pdu(data, client=_CLIENT)
    return pdu


def as_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value
