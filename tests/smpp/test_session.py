"""Bind behaviour against the simulator's real SMPP socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from connector.errors import BindError, ConfigError, SessionClosed
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.session import BindType, Endpoint, SmppSession, Timeouts
from connector.smpp.status import CommandStatus


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [(DEMO_SYSTEM_ID, "wrong", CommandStatus.ESME_RINVPASWD), ("nobody", DEMO_PASSWORD, CommandStatus.ESME_RINVSYSID)],
)
def test_wrong_credentials_are_reported_as_credentials(
    simulator_factory: Callable[..., SimulatorThread], system_id: str, password: str, status: int
) -> None:
    simulator = simulator_factory()

    async def bind() -> None:
        await SmppSession.open(Endpoint("127.0.0.1", simulator.port, system_id, password), BindType.TRANSCEIVER)

    with pytest.raises(BindError) as error:
        asyncio.run(bind())
    assert error.value.command_status == status and error.value.is_credentials
    assert DEMO_PASSWORD not in str(error.value)


def test_network_failure_is_not_a_credentials_error() -> None:
    from connector.devstack.kafka_broker import free_port

    async def bind() -> None:
        await SmppSession.open(Endpoint("127.0.0.1", free_port(), "x", "y"), BindType.TRANSMITTER)

    with pytest.raises(BindError) as error:
        asyncio.run(bind())
    assert not error.value.is_credentials and "cannot connect" in str(error.value)


def test_credentials_as_issued_bind_whole_and_a_near_miss_is_refused(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    """ViHAT's keys are 30 characters: sent whole, never cut at SMPP 3.4's 15/8 octets as smpplib would."""
    assert len(DEMO_SYSTEM_ID) == 30 and len(DEMO_PASSWORD) == 30
    near_miss = DEMO_PASSWORD[:8] + "0" * 22  # equal to the real secret in the octets smpplib would keep
    simulator = simulator_factory()

    async def bind(password: str) -> None:
        endpoint = Endpoint("127.0.0.1", simulator.port, DEMO_SYSTEM_ID, password)
        assert endpoint.beyond_smpp34 and DEMO_SYSTEM_ID[4:] not in repr(endpoint)
        session = await SmppSession.open(endpoint, BindType.TRANSCEIVER)
        await session.unbind()

    asyncio.run(bind(DEMO_PASSWORD))
    with pytest.raises(BindError) as error:
        asyncio.run(bind(near_miss))
    assert error.value.command_status == CommandStatus.ESME_RINVPASWD
    assert simulator.simulator.stats.binds_accepted == 1


def test_bind_pdu_carries_long_credentials_whole_and_parses_back() -> None:
    from connector.smpp import codec

    system_id, password = "AB" * 15, "0123456789ABCDEF0123456789ABCD"
    frame = codec.encode_bind("bind_transceiver", 7, system_id=system_id, password=password)
    pdu = codec.decode(frame)
    assert (pdu.command, pdu.sequence) == ("bind_transceiver", 7)
    assert (codec.as_text(pdu.system_id), codec.as_text(pdu.password)) == (system_id, password)
    assert pdu.interface_version == 0x34
    short = codec.encode_bind("bind_transmitter", 1, system_id="vhdemo", password="pw", system_type="x")
    assert short == codec.encode("bind_transmitter", 1, system_id="vhdemo", password="pw", system_type="x",
                                 interface_version=0x34)  # fmt: skip
    with pytest.raises(ConfigError, match="empty"):
        Endpoint("127.0.0.1", 1, "", "x")


def test_dropped_connection_fails_pending_and_enquire_link_keeps_alive(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory()

    async def scenario() -> tuple[str, int]:
        endpoint = Endpoint("127.0.0.1", simulator.port, DEMO_SYSTEM_ID, DEMO_PASSWORD)
        session = await SmppSession.open(
            endpoint, BindType.TRANSCEIVER, timeouts=Timeouts(enquire_link_interval=0.2, enquire_link_response=1)
        )
        await asyncio.sleep(0.7)  # several enquire_link round trips; the link must still be up
        assert session.is_open
        simulator.call(simulator.simulator.drop_all_binds)
        reason = await asyncio.wait_for(session.closed, 5)
        try:
            await session.submit_now({"destination_addr": "84968501615", "short_message": b"x"})
        except SessionClosed:
            return reason, 1
        return reason, 0

    reason, refused = asyncio.run(scenario())
    assert "connection" in reason and refused == 1


def test_frames_are_reassembled_across_reads_and_bad_lengths_refused() -> None:
    from connector.smpp import codec

    stream = codec.encode("enquire_link", 1) + codec.encode("submit_sm_resp", 2, message_id="abc")
    buffer = bytearray()
    seen: list[bytes] = []
    for byte in stream:  # one byte per read, the worst a TCP stream can do
        buffer.append(byte)
        seen += codec.take_frames(buffer)
    assert seen == [stream[:16], stream[16:]] and not buffer
    with pytest.raises(codec.FramingError):
        codec.take_frames(bytearray(b"\x00\x00\x00\x05" + b"\x00" * 12))
