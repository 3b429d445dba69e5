"""The bind pool's callback-driven send, against the simulator's real SMPP sockets: what a cancelled send
gives back at each of its waits, and sends that wait for their tokens while they keep their window
slots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from connector.departure import Departure
from connector.errors import ConnectorError
from connector.ratelimit import RateLimit
from connector.simulator import SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.encoding import encode_text
from connector.smpp.pool import BindPool, PoolSettings, SubmitOutcome
from connector.smpp.session import Endpoint, Timeouts
from connector.waiter import Waiter


def one_bind(simulator: SimulatorThread, window: int, rate: float = 0.0) -> BindPool:
    endpoint = Endpoint("127.0.0.1", simulator.port, DEMO_SYSTEM_ID, DEMO_PASSWORD)
    settings = PoolSettings(endpoint, binds=1, window=window, rate=RateLimit(rate), timeouts=Timeouts(response=2.0))
    return BindPool(settings, None)


def returned(result: SubmitOutcome | ConnectorError) -> SubmitOutcome | ConnectorError:
    return result


class Reservations:
    """Intents made durable only when the test says so."""

    def __init__(self) -> None:
        self.waiting: list[Waiter[None]] = []

    def departure(self) -> Departure:
        return Departure(self.waiting.append)

    def make_durable(self) -> None:
        for waiter in self.waiting:
            if not waiter.done():
                waiter.set_result(None)


def run_with_pool(pool: BindPool, scenario: Callable[[BindPool], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        await pool.start()
        try:
            assert await pool.wait_bound(5)
            return await scenario(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def send(pool: BindPool, text: str, departure: Departure | None) -> asyncio.Future[SubmitOutcome | ConnectorError]:
    message = encode_text(text, force_unicode=None, reference=pool.next_reference())
    return pool.send(message, "84968501615", "VIHAT", time.monotonic() + 10, returned, None, departure)


def window_free(pool: BindPool) -> int:
    session = pool.slots[0].session
    assert session is not None
    return session.window.free


def test_a_send_cancelled_while_its_intent_is_made_durable_gives_its_slot_back_and_writes_nothing(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    reservations = Reservations()

    async def scenario(pool: BindPool) -> tuple[int, int, Departure]:
        departure = reservations.departure()
        sending = send(pool, "cancelled while reserving", departure)
        assert len(reservations.waiting) == 1 and window_free(pool) == 1  # it holds the slot meanwhile
        sending.cancel()
        await asyncio.sleep(0)
        free_after_cancel = window_free(pool)
        reservations.make_durable()  # the intent turns durable after all: nothing may follow from it
        await asyncio.sleep(0.3)
        return free_after_cancel, len(simulator.simulator.stats.messages), departure

    free, written, departure = run_with_pool(one_bind(simulator, window=2), scenario)
    assert free == 2
    assert written == 0
    assert departure.reserved and not departure.on_wire  # what the dispatcher needs to clear the intent


def test_a_send_cancelled_while_queued_for_a_slot_takes_none_and_the_others_go_out(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)
    reservations = Reservations()

    async def scenario(pool: BindPool) -> tuple[list[Any], int, int]:
        first = send(pool, "holds the only slot", reservations.departure())
        queued = send(pool, "cancelled in the queue", reservations.departure())
        last = send(pool, "queued behind it", reservations.departure())
        assert len(reservations.waiting) == 1  # only the holder of the slot reserved
        queued.cancel()
        reservations.make_durable()  # the first goes out, answers, and hands the slot on
        outcome = await asyncio.wait_for(first, 5)
        reservations.make_durable()  # the slot skipped the cancelled send: the last one reserved
        outcomes = [outcome, await asyncio.wait_for(last, 5)]
        return outcomes, len(simulator.simulator.stats.messages), window_free(pool)

    outcomes, written, free = run_with_pool(one_bind(simulator, window=1), scenario)
    assert all(isinstance(outcome, SubmitOutcome) and len(outcome.message_ids) == 1 for outcome in outcomes)
    assert written == 2
    assert free == 1


def test_a_send_waiting_for_its_token_keeps_its_slot_and_counts_one_attempt(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)

    async def scenario(pool: BindPool) -> tuple[list[Any], float, int]:
        started = time.monotonic()
        sends = [send(pool, f"rate-limited {n}", None) for n in range(3)]
        outcomes = await asyncio.wait_for(asyncio.gather(*sends), 10)
        return outcomes, time.monotonic() - started, window_free(pool)

    outcomes, seconds, free = run_with_pool(one_bind(simulator, window=3, rate=5.0), scenario)
    assert [outcome.attempts for outcome in outcomes] == [1, 1, 1]
    assert seconds >= 0.35  # burst 1 at 5/s: the third token comes 0.4 s after the first
    assert free == 3
    assert len(simulator.simulator.stats.messages) == 3


def test_a_send_cancelled_while_waiting_for_its_token_gives_its_slot_back_and_the_token_to_the_next(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    simulator = simulator_factory(throttle_rate=0)

    async def scenario(pool: BindPool) -> tuple[Any, int, int]:
        first = send(pool, "takes the only token", None)
        waiting = send(pool, "cancelled while waiting for its token", None)
        after = send(pool, "gets the next token", None)
        assert window_free(pool) == 0  # all three hold a slot: one on the wire, two waiting for tokens
        waiting.cancel()
        await asyncio.sleep(0)
        free_after_cancel = window_free(pool)
        await asyncio.wait_for(asyncio.gather(first, after), 5)
        return after.result(), free_after_cancel, len(simulator.simulator.stats.messages)

    outcome, free, written = run_with_pool(one_bind(simulator, window=3, rate=2.0), scenario)
    assert isinstance(outcome, SubmitOutcome) and outcome.attempts == 1
    assert free == 1
    assert written == 2


def test_a_send_is_stamped_submitted_when_written_not_when_it_began_to_wait(
    simulator_factory: Callable[..., SimulatorThread],
) -> None:
    """`submitted_at` tells analysts when the provider got the message: a send that waited 0.3 s for its
    intent (as one waits for its window slot or its token under a backlog) is stamped at its write, both
    on the usual path and on the fallback's (sent before the bind was up)."""
    simulator = simulator_factory(throttle_rate=0)
    pool = one_bind(simulator, window=2)
    reservations = Reservations()

    async def scenario() -> tuple[list[Any], float]:
        await pool.start()
        try:
            began = time.time()
            early = send(pool, "sent before the bind is up", reservations.departure())  # the fallback's way
            assert await pool.wait_bound(5)
            usual = send(pool, "sent on a bound pool", reservations.departure())
            await asyncio.sleep(0.3)
            while len(reservations.waiting) < 2:  # the fallback's reservation, once it took its slot
                await asyncio.sleep(0.01)
            reservations.make_durable()
            return list(await asyncio.wait_for(asyncio.gather(early, usual), 5)), began
        finally:
            await pool.close()

    outcomes, began = asyncio.run(scenario())
    for outcome in outcomes:
        assert isinstance(outcome, SubmitOutcome) and outcome.submitted_at is not None
        assert outcome.submitted_at >= began + 0.3
