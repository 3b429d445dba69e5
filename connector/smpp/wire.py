"""The hot PDUs written and read with `struct`: submit_sm, deliver_sm and their responses, enquire_link and
its response, generic_nack. python-smpplib stays the codec for everything rare, and the oracle: for
every PDU this module handles, its bytes are smpplib's bytes (a property test holds the two together).

Whatever this module does not cover exactly as smpplib does it (an unknown TLV, a field longer than
SMPP allows, a short_message over 254 octets) it declines, by returning None, and the caller uses
smpplib instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

_HEADER = struct.Struct(">LLLL")
_TLV = struct.Struct(">HH")

SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
GENERIC_NACK = 0x80000000

COMMAND_IDS = {
    "submit_sm": SUBMIT_SM,
    "submit_sm_resp": SUBMIT_SM_RESP,
    "deliver_sm": DELIVER_SM,
    "deliver_sm_resp": DELIVER_SM_RESP,
    "enquire_link": ENQUIRE_LINK,
    "enquire_link_resp": ENQUIRE_LINK_RESP,
    "generic_nack": GENERIC_NACK,
}
COMMAND_NAMES = {value: name for name, value in COMMAND_IDS.items()}
_HEADER_ONLY = frozenset({ENQUIRE_LINK, ENQUIRE_LINK_RESP, GENERIC_NACK})
_RESPONSES_WITH_ID = frozenset({SUBMIT_SM_RESP, DELIVER_SM_RESP})

# submit_sm and deliver_sm share their mandatory part: (name, kind, limit); kind "s" is a C-octet string
# of at most `limit` octets with its NUL, "b" one octet. sm_length and short_message follow.
_MANDATORY: tuple[tuple[str, str, int], ...] = (
    ("service_type", "s", 6),
    ("source_addr_ton", "b", 0),
    ("source_addr_npi", "b", 0),
    ("source_addr", "s", 21),
    ("dest_addr_ton", "b", 0),
    ("dest_addr_npi", "b", 0),
    ("destination_addr", "s", 21),
    ("esm_class", "b", 0),
    ("protocol_id", "b", 0),
    ("priority_flag", "b", 0),
    ("schedule_delivery_time", "s", 17),
    ("validity_period", "s", 17),
    ("registered_delivery", "b", 0),
    ("replace_if_present_flag", "b", 0),
    ("data_coding", "b", 0),
    ("sm_default_msg_id", "b", 0),
)

# The TLVs handled here, in the order smpplib writes them: (name, tag, kind, size). Kind "i" is an
# integer of `size` octets, "o" an octet string, "s" a C-octet string of at most `size` octets.
_SUBMIT_TLVS: tuple[tuple[str, int, str, int], ...] = (
    ("user_message_reference", 0x0204, "i", 2),
    ("source_port", 0x020A, "i", 2),
    ("destination_port", 0x020B, "i", 2),
    ("sar_msg_ref_num", 0x020C, "i", 2),
    ("sar_total_segments", 0x020E, "i", 1),
    ("sar_segment_seqnum", 0x020F, "i", 1),
    ("message_payload", 0x0424, "o", 0),
)
_TLVS = {
    SUBMIT_SM: _SUBMIT_TLVS,
    DELIVER_SM: (*_SUBMIT_TLVS, ("message_state", 0x0427, "i", 1), ("receipted_message_id", 0x001E, "s", 65)),
}
_TLV_BY_TAG = {command: {tag: (name, kind, size) for name, tag, kind, size in tlvs} for command, tlvs in _TLVS.items()}
_TLV_NAMES = frozenset(name for tlvs in _TLVS.values() for name, _tag, _kind, _size in tlvs)
_MANDATORY_NAMES = frozenset(name for name, _kind, _limit in _MANDATORY) | {"short_message", "sm_length"}
_INT_FORMATS = {1: ">B", 2: ">H", 4: ">L"}


@dataclass(slots=True)
class WirePdu:
    """A decoded hot PDU, with the attribute names smpplib's PDU objects use (strings as bytes)."""

    command: str
    status: int
    sequence: int
    message_id: bytes | None = None  # submit_sm_resp, deliver_sm_resp
    service_type: bytes = b""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: bytes = b""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: bytes = b""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: bytes = b""
    validity_period: bytes = b""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    sm_length: int = 0
    short_message: bytes = b""  # smpplib reads an empty one as None or b"" depending on TLVs after it
    user_message_reference: int | None = None
    source_port: int | None = None
    destination_port: int | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    message_payload: bytes | None = None
    message_state: int | None = None
    receipted_message_id: bytes | None = None


def _octets(value: Any) -> bytes | None:
    if value is None:
        return b""
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return None
    if isinstance(value, bytes):
        return value
    return None


# ---- encoding ----------------------------------------------------------------------------------


def encode(command: str, sequence: int, status: int, fields: dict[str, Any]) -> bytes | None:
    """The PDU's bytes, or None when smpplib must write it."""
    command_id = COMMAND_IDS.get(command)
    if command_id is None:
        return None
    if command_id in _HEADER_ONLY:
        return None if fields else _HEADER.pack(16, command_id, status, sequence)
    if command_id in _RESPONSES_WITH_ID:
        if set(fields) - {"message_id"}:
            return None
        message_id = _octets(fields.get("message_id"))
        if message_id is None or len(message_id) >= 65 or b"\0" in message_id:
            return None
        body = message_id + b"\0"
        return _HEADER.pack(16 + len(body), command_id, status, sequence) + body
    return _encode_short_message(command_id, sequence, status, fields)


def deliver_sm_resp(sequence: int, status: int) -> bytes:
    """The answer to every delivery receipt: no message_id, so one pack (0.09 us; the general path 0.61)."""
    return _DELIVER_SM_RESP.pack(17, DELIVER_SM_RESP, status, sequence)


_DELIVER_SM_RESP = struct.Struct(">LLLLx")  # the header, then message_id as an empty C-octet string


def _encode_short_message(command_id: int, sequence: int, status: int, fields: dict[str, Any]) -> bytes | None:
    if fields.keys() <= _PLAIN_NAMES:
        plain = _encode_plain(command_id, sequence, status, fields)
        if plain is not None:
            return plain
    return _encode_walk(command_id, sequence, status, fields)


def _encode_walk(command_id: int, sequence: int, status: int, fields: dict[str, Any]) -> bytes | None:
    """Any submit_sm or deliver_sm this module covers, field by field."""
    if set(fields) - _MANDATORY_NAMES - _TLV_NAMES:
        return None
    parts = bytearray()
    for name, kind, limit in _MANDATORY:
        value = fields.get(name)
        if kind == "b":
            if value is None:
                value = 0
            if not isinstance(value, int) or not 0 <= value <= 0xFF:
                return None
            parts.append(value)
            continue
        octets = _octets(value)
        if octets is None or len(octets) >= limit or b"\0" in octets:
            return None  # smpplib would cut it; let it, and keep the bytes identical
        parts += octets
        parts.append(0)
    short_message = fields.get("short_message")
    message = b"" if short_message is None else short_message
    if not isinstance(message, bytes) or len(message) > 254:
        return None
    if "sm_length" in fields and fields["sm_length"] not in (None, len(message)):
        return None
    parts.append(len(message))
    parts += message
    for name, tag, kind, size in _TLVS[command_id]:
        value = fields.get(name)
        if value is None:
            continue
        if kind == "i":
            if not isinstance(value, int) or value < 0 or value >= 1 << (8 * size):
                return None
            parts += _TLV.pack(tag, size) + struct.pack(_INT_FORMATS[size], value)
        elif kind == "o":
            if not isinstance(value, bytes):
                return None
            if value:  # smpplib leaves an empty octet string out
                parts += _TLV.pack(tag, len(value)) + value
        else:
            octets = _octets(value)
            if octets is None or len(octets) > size or b"\0" in octets:
                return None
            if octets:  # smpplib leaves an empty string TLV out
                parts += _TLV.pack(tag, len(octets) + 1) + octets + b"\0"
    return _HEADER.pack(16 + len(parts), command_id, status, sequence) + bytes(parts)


_PLAIN_NAMES = frozenset(
    {
        "source_addr_ton",
        "source_addr_npi",
        "source_addr",
        "dest_addr_ton",
        "dest_addr_npi",
        "destination_addr",
        "esm_class",
        "registered_delivery",
        "data_coding",
        "short_message",
    }
)


def _encode_plain(command_id: int, sequence: int, status: int, fields: dict[str, Any]) -> bytes | None:
    """What the bind pool sends for every part (fields from `_PLAIN_NAMES` only, the rest empty or zero),
    in one join: the field-by-field walk of `_encode_walk` costs nearly three times as much. None for
    anything unusual (a None, a str that is not latin-1, a number out of range...): the walk decides
    those. The property test holds the bytes of both equal."""
    get = fields.get
    source, destination, message = get("source_addr", ""), get("destination_addr", ""), get("short_message", b"")
    if type(source) is not str or type(destination) is not str or type(message) is not bytes or len(message) > 254:
        return None
    try:
        source_octets, destination_octets = source.encode("latin-1"), destination.encode("latin-1")
        source_numbering = bytes((get("source_addr_ton", 0), get("source_addr_npi", 0)))
        destination_numbering = bytes((get("dest_addr_ton", 0), get("dest_addr_npi", 0)))
        # esm_class, protocol_id, priority_flag, two empty times, registered_delivery,
        # replace_if_present_flag, data_coding, sm_default_msg_id, sm_length
        esm_class, registered, coding = get("esm_class", 0), get("registered_delivery", 0), get("data_coding", 0)
        flags = bytes((esm_class, 0, 0, 0, 0, registered, 0, coding, 0, len(message)))
    except (TypeError, ValueError):  # None, not an int, an int beyond an octet, not latin-1
        return None
    if len(source_octets) >= 21 or len(destination_octets) >= 21 or "\0" in source or "\0" in destination:
        return None
    body = b"".join(
        (
            b"\0",
            source_numbering,
            source_octets,
            b"\0",
            destination_numbering,
            destination_octets,
            b"\0",
            flags,
            message,
        )
    )
    return _HEADER.pack(16 + len(body), command_id, status, sequence) + body


# ---- decoding ----------------------------------------------------------------------------------


def decode(frame: bytes) -> WirePdu | None:
    """The PDU in `frame` (one whole PDU), or None when smpplib must read it."""
    length, command_id, status, sequence = _HEADER.unpack_from(frame)
    name = COMMAND_NAMES.get(command_id)
    if name is None or length != len(frame):
        return None
    if command_id in _HEADER_ONLY:
        return WirePdu(name, status, sequence) if length == 16 else None
    if command_id in _RESPONSES_WITH_ID:
        if length == 16:
            return WirePdu(name, status, sequence, message_id=b"")
        end = frame.find(b"\0", 16)
        if end != length - 1:
            return None
        return WirePdu(name, status, sequence, message_id=frame[16:end])
    return _decode_short_message(frame, name, command_id, status, sequence)


def _decode_short_message(frame: bytes, name: str, command_id: int, status: int, sequence: int) -> WirePdu | None:
    # The mandatory part field by field, written out: a loop over `_MANDATORY` with setattr cost twice as
    # much, for every DLR. A C-octet string longer than SMPP allows is declined (smpplib reads those).
    pdu = WirePdu(name, status, sequence)
    find, length = frame.index, len(frame)
    try:
        end = find(b"\0", 16)
        if end - 16 >= 6:
            return None
        pdu.service_type = frame[16:end]
        pdu.source_addr_ton, pdu.source_addr_npi = frame[end + 1], frame[end + 2]
        start = end + 3
        end = find(b"\0", start)
        if end - start >= 21:
            return None
        pdu.source_addr = frame[start:end]
        pdu.dest_addr_ton, pdu.dest_addr_npi = frame[end + 1], frame[end + 2]
        start = end + 3
        end = find(b"\0", start)
        if end - start >= 21:
            return None
        pdu.destination_addr = frame[start:end]
        pdu.esm_class, pdu.protocol_id, pdu.priority_flag = frame[end + 1], frame[end + 2], frame[end + 3]
        start = end + 4
        end = find(b"\0", start)
        if end - start >= 17:
            return None
        pdu.schedule_delivery_time = frame[start:end]
        start = end + 1
        end = find(b"\0", start)
        if end - start >= 17:
            return None
        pdu.validity_period = frame[start:end]
        position = end + 1
        pdu.registered_delivery, pdu.replace_if_present_flag = frame[position], frame[position + 1]
        pdu.data_coding, pdu.sm_default_msg_id = frame[position + 2], frame[position + 3]
        sm_length = frame[position + 4]
        position += 5
        if position + sm_length > length:
            return None
        pdu.sm_length = sm_length
        pdu.short_message = frame[position : position + sm_length]
        position += sm_length
    except (IndexError, ValueError):
        return None
    known = _TLV_BY_TAG[command_id]
    while position < length:
        if position + 4 > length:
            return None
        tag, size = _TLV.unpack_from(frame, position)
        position += 4
        value = frame[position : position + size]
        position += size
        spec = known.get(tag)
        if spec is None or len(value) != size:
            return None
        tlv_name, kind, expected = spec
        if kind == "i":
            if size != expected:
                return None
            setattr(pdu, tlv_name, int.from_bytes(value, "big"))
        elif kind == "o":
            setattr(pdu, tlv_name, value)
        else:
            if not value.endswith(b"\0") or b"\0" in value[:-1]:
                return None
            setattr(pdu, tlv_name, value[:-1])
    return pdu
