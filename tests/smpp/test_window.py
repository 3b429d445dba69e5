"""The session's window: never more holders than slots, waiters served in arrival order, and no slot
lost to a cancelled waiter, whether it was cancelled while waiting or just after it was given a slot."""

from __future__ import annotations

import asyncio

import pytest

from connector.smpp.window import Window


async def acquire(window: Window) -> None:
    """A slot, taken the way the bind pool takes one."""
    waiting = window.take()
    if waiting is None:
        return
    try:
        await waiting
    except asyncio.CancelledError:
        window.abandon(waiting)
        raise


async def hold(window: Window, name: str, order: list[str], holding: list[str], release: asyncio.Event) -> None:
    await acquire(window)
    try:
        holding.append(name)
        order.append(name)
        await release.wait()
    finally:
        holding.remove(name)
        window.release()


def test_no_more_holders_than_slots_and_waiters_in_arrival_order() -> None:
    async def scenario() -> tuple[list[str], int]:
        window, order, holding, peak = Window(2), [], [], 0
        releases = [asyncio.Event() for _ in range(6)]
        tasks = [asyncio.ensure_future(hold(window, str(i), order, holding, releases[i])) for i in range(6)]
        for event in releases:
            await asyncio.sleep(0)
            peak = max(peak, len(holding))
            event.set()
        await asyncio.gather(*tasks)
        assert window.free == 2
        return order, peak

    order, peak = asyncio.run(scenario())
    assert order == [str(i) for i in range(6)]
    assert peak == 2


def test_a_waiter_cancelled_while_waiting_takes_no_slot() -> None:
    async def scenario() -> None:
        window = Window(1)
        await acquire(window)
        waiter = asyncio.ensure_future(acquire(window))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        window.release()
        assert window.free == 1
        await asyncio.wait_for(acquire(window), 1)  # the slot is there for the next one

    asyncio.run(scenario())


def test_a_waiter_cancelled_after_it_was_given_the_slot_passes_it_on() -> None:
    async def scenario() -> None:
        window = Window(1)
        await acquire(window)
        first = asyncio.ensure_future(acquire(window))
        second = asyncio.ensure_future(acquire(window))
        await asyncio.sleep(0)
        window.release()  # the slot goes to `first`...
        first.cancel()  # ...which is cancelled before it could resume
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)  # so `second` gets it
        assert window.free == 0
        window.release()
        assert window.free == 1

    asyncio.run(scenario())
