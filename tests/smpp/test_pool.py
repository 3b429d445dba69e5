"""The bind pool through its injectable session factory, against the simulator's real SMPP sockets:
no Kafka involved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from connector.errors import SubmitRejected
from connector.ratelimit import RateLimit
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.encoding import encode_text
from connector.smpp.pool import BindPool, PoolSettings, RetryPolicy, SubmitOutcome
from connector.smpp.session import BindType, Endpoint, SmppSession, Timeouts


def pool_on(simulator: SimulatorThread, binds: int = 2, rate: float = 0.0) -> tuple[BindPool, list[str]]:
    opened: list[str] = []

    async def counting_factory(endpoint: Endpoint, bind_type: BindType, **options: object) -> SmppSession:
        opened.append(bind_type.value)
        return await SmppSession.open(endpoint, bind_type, **options)  # type: ignore[arg-type]

    settings = PoolSettings(
        Endpoint("127.0.0.1", simulator.port, DEMO_SYSTEM_ID, DEMO_PASSWORD),
        binds=binds,
        rate=RateLimit(rate, 5.0),
        timeouts=Timeouts(response=2.0),
        reconnect=RetryPolicy(base=0.05, cap=0.2),
        throttle_pause=0.05,
    )
    return BindPool(settings, None, session_factory=counting_factory), opened


def send(pool: BindPool, text: str, destination: str = "84968501615") -> tuple[SubmitOutcome, list[tuple[int, str]]]:
    parts: list[tuple[int, str]] = []

    async def run() -> SubmitOutcome:
        await pool.start()
        try:
            assert await pool.wait_bound(5)
            message = encode_text(text, force_unicode=None, reference=pool.next_reference())
            deadline = time.monotonic() + 10
            return await pool.submit(message, destination, "VIHAT", deadline, lambda n, i: parts.append((n, i)))
        finally:
            await pool.close()

    return asyncio.run(run()), parts


def test_every_part_of_a_long_message_goes_out_and_is_reported_as_it_is_accepted(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    pool, opened = pool_on(simulator)
    outcome, parts = send(pool, "x" * 400)  # 400 GSM septets: 3 parts of at most 153
    assert len(outcome.message_ids) == 3 and [n for n, _ in parts] == [1, 2, 3]
    assert [i for _, i in parts] == outcome.message_ids
    received = simulator.simulator.stats.messages
    assert sorted(p.number for p in received) == [1, 2, 3] and {p.total for p in received} == {3}
    assert opened == ["transceiver", "transceiver"]  # the factory opened every bind


def test_a_throttled_part_is_retried_on_the_same_request_and_counted(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=2, throttle_burst=1)
    pool, _ = pool_on(simulator, binds=1)
    outcome, _ = send(pool, "y" * 1000)  # 7 parts against an SMSC that takes 2 per second
    assert len(outcome.message_ids) == 7 and outcome.attempts > 7
    assert pool.stats().throttles == outcome.attempts - 7
    assert len(simulator.simulator.stats.messages) == 7  # throttled parts were not taken: none twice


def test_a_permanent_refusal_names_the_command_status(simulator_factory: Callable[..., SimulatorThread]) -> None:
    simulator = simulator_factory(throttle_rate=0)
    pool, _ = pool_on(simulator)
    with pytest.raises(SubmitRejected) as error:
        send(pool, "hello", destination="99912345678")  # the simulator refuses 999...
    assert error.value.status_name == "ESME_RINVDSTADR" and not error.value.retriable
