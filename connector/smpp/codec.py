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


class FramingError(ValueError):
    """A command_length no SMPP peer would send: the stream cannot be resynchronised."""


def take_frames(buffer: bytearray) -> list[bytes]:
    """Remove and return every complete PDU at the front of `buffer` (a TCP stream reassembler)."""
    frames = []
    while len(buffer) >= 16:
        length = int.from_bytes(buffer[0:4], "big")
        if length < 16 or length > MAX_PDU_LENGTH:
            raise FramingError(f"invalid PDU length {length}")
        if len(buffer) < length:
            break
        frames.append(bytes(buffer[:length]))
        del buffer[:length]
    return frames


def as_text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value
