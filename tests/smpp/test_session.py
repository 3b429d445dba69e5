"""Bind behaviour against the simulator's real SMPP socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from connector.errors import BindError, ConfigError, SessionClosed
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.session import BindType, Endpoint, SmppSession, Timeouts
from connector.smpp.status import ESME_RINVPASWD, ESME_RINVSYSID


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [(DEMO_SYSTEM_ID, "wrong", ESME_RINVPASWD), ("nobody", DEMO_PASSWORD, ESME_RINVSYSID)],
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


def test_credentials_longer_than_smpp_allows_are_refused_not_truncated() -> None:
    with pytest.raises(ConfigError, match="system_id"):
        Endpoint("127.0.0.1", 1, "an-api-key-of-32-characters-long", "x")
    with pytest.raises(ConfigError, match="password"):
        Endpoint("127.0.0.1", 1, "key", "secret-longer-than-8")


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
            await session.submit({"destination_addr": "84968501615", "short_message": b"x"})
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
