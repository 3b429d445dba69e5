"""PDU encoding and decoding: the hot PDUs with `struct` (`wire.py`), everything else with python-smpplib.

smpplib's PDU objects take their sequence number from a client; passing `sequence=` to `make_pdu` is
silently ignored, so it is set on the object after construction. Nothing here logs a PDU: they carry
phone numbers and message text.
"""

from __future__ import annotations

import struct
from typing import Any

from smpplib import smpp

from connector.errors import ConnectorError
from connector.smpp import wire

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
    fast = wire.encode(command, sequence, status, fields)
    if fast is not None:
        return fast
    return encode_with_smpplib(command, sequence, status, **fields)


def encode_with_smpplib(command: str, sequence: int, status: int = 0, **fields: Any) -> bytes:
    pdu = smpp.make_pdu(command, client=_CLIENT, **fields)
    pdu.sequence = sequence
    pdu.status = status
    data: bytes = pdu.generate()
    return data


_BIND_COMMAND_IDS = {"bind_receiver": 0x00000001, "bind_transmitter": 0x00000002, "bind_transceiver": 0x00000009}
SMPP34_SYSTEM_ID_OCTETS = 15  # SMPP 3.4 section 4.1.1, without the terminating NUL
SMPP34_PASSWORD_OCTETS = 8


def _c_octet_string(value: str) -> bytes:
    data = value.encode()
    if b"\0" in data:
        raise ValueError("a C-octet string cannot contain NUL")
    return data + b"\0"


def encode_bind(
    command: str,
    sequence: int,
    *,
    system_id: str,
    password: str,
    system_type: str = "",
    interface_version: int = 0x34,
    addr_ton: int = 0,
    addr_npi: int = 0,
    address_range: str = "",
) -> bytes:
    """bind_transmitter / bind_receiver / bind_transceiver, credentials sent exactly as given.

    Written here rather than by smpplib, which cuts system_id to 15 and password to 8 octets: ViHAT's
    system_id is the account's API key and its password the secret key, both 30 characters, and SMSCs
    that use API keys as system_id read the whole C-octet string.
    """
    body = b"".join(
        (
            _c_octet_string(system_id),
            _c_octet_string(password),
            _c_octet_string(system_type),
            bytes((interface_version, addr_ton, addr_npi)),
            _c_octet_string(address_range),
        )
    )
    return HEADER.pack(16 + len(body), _BIND_COMMAND_IDS[command], 0, sequence) + body


def decode(data: bytes) -> Pdu:
    fast = wire.decode(data)
    if fast is not None:
        return fast
    return decode_with_smpplib(data)


def decode_with_smpplib(data: bytes) -> Pdu:
    pdu: Pdu = smpp.parse_pdu(data, client=_CLIENT)
    return pdu


class FramingError(ConnectorError, ValueError):
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
