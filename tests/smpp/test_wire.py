"""The struct codec for the hot PDUs against python-smpplib as the oracle: for generated PDUs (every
data coding, UDH, TLVs, fields up to and past their limits) the bytes are identical, and each side
parses what the other wrote."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.smpp import codec, wire
from connector.smpp.encoding import encode_text


def sized(make: Any, largest: int) -> st.SearchStrategy[Any]:
    """Values of every length up to `largest` alike: left alone, hypothesis seldom draws long ones."""
    return st.integers(0, largest).flatmap(lambda size: make(min_size=size, max_size=size))


DIGITS = sized(lambda **size: st.text(alphabet="0123456789", **size), 22)  # up to and past SMPP's 20 octets
ALPHANUMERIC = sized(lambda **size: st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), **size), 22)
OCTET = st.integers(0, 255)
CODINGS = st.sampled_from([0x00, 0x01, 0x03, 0x04, 0x08])  # default, IA5, Latin-1, binary, UCS2


@st.composite
def short_messages(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """(short_message, esm_class, data_coding): encoded text with and without a concatenation UDH, or
    raw octets in any coding, up to past the 254 octets a short_message can hold."""
    if draw(st.booleans()):
        text = draw(sized(st.text, 400))
        bits = draw(st.sampled_from([8, 16]))
        encoded = encode_text(text, force_unicode=None, reference=draw(st.integers(0, 0xFFFF)), reference_bits=bits)
        part = draw(st.sampled_from(encoded.parts))
        return part, encoded.esm_class | draw(st.sampled_from([0x00, 0x03])), encoded.data_coding
    return draw(sized(st.binary, 260)), draw(OCTET), draw(CODINGS)


def tlvs(command: str) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "user_message_reference": st.integers(0, 0xFFFF),
        "source_port": st.integers(0, 0xFFFF),
        "destination_port": st.integers(0, 0xFFFF),
        "sar_msg_ref_num": st.integers(0, 0xFFFF),
        "sar_total_segments": st.integers(1, 255),
        "sar_segment_seqnum": st.integers(1, 255),
    }
    if command == "deliver_sm":
        optional["message_state"] = st.integers(0, 8)
        optional["receipted_message_id"] = st.text(alphabet="0123456789abcdefABCDEF-", min_size=1, max_size=64)
    return st.fixed_dictionaries({}, optional=optional)


@st.composite
def short_message_pdus(draw: st.DrawFn) -> tuple[str, int, int, dict[str, Any]]:
    command = draw(st.sampled_from(["submit_sm", "deliver_sm"]))
    message, esm_class, data_coding = draw(short_messages())
    fields: dict[str, Any] = {
        "source_addr_ton": draw(OCTET),
        "source_addr_npi": draw(OCTET),
        "source_addr": draw(st.one_of(DIGITS, ALPHANUMERIC)),
        "dest_addr_ton": draw(OCTET),
        "dest_addr_npi": draw(OCTET),
        "destination_addr": draw(DIGITS),
        "esm_class": esm_class,
        "registered_delivery": draw(st.integers(0, 3)),
        "data_coding": data_coding,
        "short_message": message,
        **draw(tlvs(command)),
    }
    if draw(st.booleans()):
        fields["service_type"] = draw(st.sampled_from(["", "CMT", "WAP"]))
        fields["protocol_id"] = draw(OCTET)
        fields["priority_flag"] = draw(st.integers(0, 3))
        fields["validity_period"] = draw(st.sampled_from(["", "000001000000000R"]))
    return command, draw(st.integers(1, 0x7FFFFFFF)), draw(st.sampled_from([0, 0x58, 0x0B])), fields


def same_fields(fast: wire.WirePdu, oracle: Any) -> None:
    for name in wire.WirePdu.__slots__:
        if name == "message_id" or not hasattr(oracle, name):
            continue
        expected = getattr(oracle, name)
        if name == "short_message":
            expected = expected or b""  # smpplib: None or b"" for an empty one, depending on what follows
        assert getattr(fast, name) == expected, name


@settings(max_examples=400, deadline=None)
@given(short_message_pdus())
def test_short_message_pdus_are_byte_identical_to_smpplib_and_parse_both_ways(
    pdu: tuple[str, int, int, dict[str, Any]],
) -> None:
    command, sequence, status, fields = pdu
    fast = wire.encode(command, sequence, status, dict(fields))
    too_long = len(fields["short_message"]) > 254 or any(
        len(fields.get(name, "")) >= 21 for name in ("source_addr", "destination_addr")
    )
    if too_long:
        assert fast is None  # declined: smpplib writes it (cuts what SMPP cannot carry, or refuses it)
        return
    oracle = codec.encode_with_smpplib(command, sequence, status, **fields)
    assert fast == oracle
    parsed = wire.decode(oracle)
    assert parsed is not None
    same_fields(parsed, codec.decode_with_smpplib(oracle))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["submit_sm_resp", "deliver_sm_resp"]),
    st.integers(1, 0x7FFFFFFF),
    st.sampled_from([0, 0x58, 0x14, 0x0B]),
    st.one_of(st.none(), st.text(alphabet="0123456789abcdef", max_size=64)),
)
def test_responses_are_byte_identical_and_parse_both_ways(
    command: str, sequence: int, status: int, message_id: str | None
) -> None:
    fields = {} if message_id is None else {"message_id": message_id}
    fast = wire.encode(command, sequence, status, dict(fields))
    oracle = codec.encode_with_smpplib(command, sequence, status, **fields)
    assert fast == oracle
    parsed, reference = wire.decode(oracle), codec.decode_with_smpplib(oracle)
    assert parsed is not None
    assert (parsed.command, parsed.sequence, parsed.status) == (reference.command, reference.sequence, reference.status)
    assert parsed.message_id == reference.message_id


def test_header_only_pdus_and_a_response_without_body() -> None:
    for command in ("enquire_link", "enquire_link_resp", "generic_nack"):
        assert wire.encode(command, 9, 0, {}) == codec.encode_with_smpplib(command, 9)
        parsed = wire.decode(codec.encode_with_smpplib(command, 9))
        assert parsed is not None and (parsed.command, parsed.sequence) == (command, 9)
    bare = codec.HEADER.pack(16, wire.SUBMIT_SM_RESP, 0x58, 4)  # some SMSCs send no body with an error
    parsed = wire.decode(bare)
    assert parsed is not None and parsed.status == 0x58 and parsed.message_id == b""


def test_what_the_struct_codec_does_not_cover_goes_to_smpplib() -> None:
    unknown_tlv = codec.encode_with_smpplib("deliver_sm", 1, source_addr="8490", network_error_code=b"\x03\x00\x01")
    assert wire.decode(unknown_tlv) is None
    assert codec.decode(unknown_tlv).network_error_code == b"\x03\x00\x01"
    assert wire.encode("query_sm", 1, 0, {"message_id": "a"}) is None
    assert codec.decode(codec.encode("query_sm", 1, message_id="a")).command == "query_sm"


ODD_VALUES = st.one_of(
    st.none(), st.integers(-2, 300), st.floats(0, 2), st.booleans(), st.text(max_size=3), st.binary(max_size=3)
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([wire.SUBMIT_SM, wire.DELIVER_SM]),
    st.dictionaries(
        st.sampled_from(sorted(wire._PLAIN_NAMES)),
        st.one_of(ODD_VALUES, DIGITS, sized(st.text, 22), sized(st.binary, 260), OCTET),
    ),
)
def test_the_one_join_path_writes_what_the_field_walk_writes_or_leaves_it_to_the_walk(
    command_id: int, fields: dict[str, Any]
) -> None:
    plain = wire._encode_plain(command_id, 7, 0, fields)
    assert plain is None or plain == wire._encode_walk(command_id, 7, 0, fields)


def test_what_the_bind_pool_sends_takes_the_one_join_path() -> None:
    fields = {
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "source_addr": "VIHAT",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": "84968501615",
        "esm_class": 0x40,
        "registered_delivery": 1,
        "data_coding": 8,
        "short_message": encode_text("xin chào ⚡", force_unicode=None, reference=1).parts[0],
    }
    plain = wire._encode_plain(wire.SUBMIT_SM, 3, 0, fields)
    assert plain is not None and plain == codec.encode_with_smpplib("submit_sm", 3, 0, **fields)


@given(st.integers(1, 0x7FFFFFFF), st.sampled_from([0, 0x08, 0x58, 0x64]))
def test_the_receipt_answer_is_what_smpplib_writes(sequence: int, status: int) -> None:
    assert wire.deliver_sm_resp(sequence, status) == codec.encode_with_smpplib("deliver_sm_resp", sequence, status)


@settings(max_examples=400, deadline=None)
@given(short_message_pdus(), st.data())
def test_a_damaged_pdu_is_declined_or_read_as_smpplib_reads_it(
    pdu: tuple[str, int, int, dict[str, Any]], data: st.DataObject
) -> None:
    command, sequence, status, fields = pdu
    if len(fields["short_message"]) > 254 or any(
        len(fields.get(n, "")) >= 21 for n in ("source_addr", "destination_addr")
    ):
        return
    damaged = bytearray(codec.encode_with_smpplib(command, sequence, status, **fields))
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            damaged[data.draw(st.integers(16, len(damaged) - 1))] = data.draw(st.sampled_from([0, 1, 0x7F, 0xFF]))
        else:
            del damaged[data.draw(st.integers(17, len(damaged))) :]
    damaged[0:4] = len(damaged).to_bytes(4, "big")
    fast = wire.decode(bytes(damaged))
    if fast is not None:  # whatever the struct codec accepts, smpplib reads the same way
        same_fields(fast, codec.decode_with_smpplib(bytes(damaged)))
