"""The intent log's rules through its injectable writer and reader: an in-memory state partition stands
in for the topic, so the rules are checked without a broker (tests/test_intents.py checks them against
the real one)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from connector.dispatcher.intents import Intent, IntentLog, StateRecord

DAY = 86_400.0


class MemoryStateTopic:
    """Appends what is produced to per-partition lists and acknowledges on the next loop turn, in order."""

    def __init__(self) -> None:
        self.partitions: dict[int, list[StateRecord]] = defaultdict(list)

    def append(self, partition: int | None, key: str, value: bytes | None, at: float | None = None) -> None:
        assert partition is not None, "state records always name their partition"
        log = self.partitions[partition]
        log.append(StateRecord(len(log), key, value, time.time() if at is None else at))

    def produce_reliably(
        self, topic: str, key: str, value: bytes | None, on_done: Callable[[], None], *, partition: int | None = None
    ) -> None:
        self.append(partition, key, value)
        asyncio.get_running_loop().call_soon(on_done)

    def produce_tombstone(self, topic: str, key: str, partition: int | None = None) -> None:
        self.append(partition, key, None)

    def produce_and_wait(
        self, topic: str, key: str, value: bytes, *, partition: int | None = None
    ) -> asyncio.Future[None]:
        self.append(partition, key, value)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def batches(self, partition: int) -> Iterator[list[StateRecord]]:
        records = list(self.partitions[partition])
        for start in range(0, len(records), 2):  # small batches: a key's later record may be in the next
            yield records[start : start + 2]


def new_log(topic: MemoryStateTopic, directory: Path) -> IntentLog:
    return IntentLog("state", topic, topic, str(directory), window=DAY)


def test_a_new_owner_learns_what_is_finished_given_back_ambiguous_or_forgotten(tmp_path: Path) -> None:
    topic = MemoryStateTopic()
    acked: list[str] = []

    async def previous_owner() -> None:
        log = new_log(topic, tmp_path / "a")
        await log.record_sending(1, "finished-early")
        log.record_done(1, "finished-early", 10, b"result-1", lambda: acked.append("early"))
        await log.record_sending(1, "given-back")
        log.release(1, "given-back")
        await log.record_sending(1, "on-the-wire")
        log.record_done(1, "unread", 40, b"result-3", lambda: acked.append("unread"))  # beyond read_upto
        await log.hand_over(1, read_upto=20)
        log.record_done(1, "finished-late", 12, b"result-2", lambda: acked.append("late"))  # then a crash
        await asyncio.sleep(0.01)

    asyncio.run(previous_owner())
    topic.append(1, "long-ago", b"E" + (5).to_bytes(8, "big") + b"old", at=time.time() - 2 * DAY)
    log = new_log(topic, tmp_path / "b")
    restored = asyncio.run(log.restore(1))

    assert acked == ["early", "unread", "late"]
    early, late, wire = log.lookup("finished-early"), log.lookup("finished-late"), log.lookup("on-the-wire")
    assert early is not None and early.finished_record(10) and early.result == b"result-1"
    assert not early.finished_record(11)  # the same request_id in another input record: a repeat
    assert late is not None and late.intent is Intent.DONE and not late.finished_record(12)  # after the marker
    unread = log.lookup("unread")
    assert unread is not None and not unread.finished_record(40)  # the marker vouches only for what was read
    assert wire is not None and wire.intent is Intent.SENDING and wire.result is None
    assert log.lookup("given-back") is None  # its tombstone: sent as new by the next owner
    assert log.lookup("long-ago") is None and restored.expired == 1  # past the idempotency window
    assert restored.requests == 4 and restored.records == len(topic.partitions[1])


def test_partitions_are_restored_and_forgotten_independently(tmp_path: Path) -> None:
    topic = MemoryStateTopic()

    async def write() -> None:
        log = new_log(topic, tmp_path / "a")
        for partition in (0, 1):
            await log.record_sending(partition, f"r{partition}")

    asyncio.run(write())
    log = new_log(topic, tmp_path / "b")
    asyncio.run(log.restore(0))
    assert log.lookup("r0") is not None and log.lookup("r1") is None
    asyncio.run(log.restore(1))
    log.forget(0)
    assert log.lookup("r0") is None and log.lookup("r1") is not None


def test_one_turn_of_state_changes_is_one_record_per_partition(tmp_path: Path) -> None:
    topic = MemoryStateTopic()

    async def owner() -> list[str]:
        log = new_log(topic, tmp_path / "a")
        durable = [log.record_sending(3, f"r{n}") for n in range(40)]  # one turn: one group record
        given_back = log.record_sending(3, "never-left")
        log.release(3, "never-left")  # before its group was written: nothing to clear in the topic
        await asyncio.gather(*durable)
        assert not given_back.done()
        done: list[str] = []
        for n in range(40):
            log.record_done(3, f"r{n}", n, f"result-{n}".encode(), lambda n=n: done.append(f"r{n}"))
        await asyncio.sleep(0.01)
        return done

    done = asyncio.run(owner())
    assert done == [f"r{n}" for n in range(40)]  # acknowledged together, in order
    assert len(topic.partitions[3]) == 2  # one SENDING group and one DONE group for 40 requests
    log = new_log(topic, tmp_path / "b")
    assert asyncio.run(log.restore(3)).requests == 40
    finished = log.lookup("r7")
    assert finished is not None and finished.intent is Intent.DONE and finished.result == b"result-7"
    assert log.lookup("never-left") is None


def test_looking_up_many_says_what_looking_up_each_says(tmp_path: Path) -> None:
    topic = MemoryStateTopic()

    async def previous_owner() -> None:
        log = new_log(topic, tmp_path / "a")
        for n in range(1200):  # restored into SQLite: more than one statement's worth of ids
            if n % 3 == 0:
                log.record_done(2, f"r{n}", n, f"result-{n}".encode(), lambda: None)
            else:
                await log.record_sending(2, f"r{n}")
        await asyncio.sleep(0.01)

    asyncio.run(previous_owner())
    log = new_log(topic, tmp_path / "b")
    asyncio.run(log.restore(2))

    async def this_owner() -> None:
        await log.record_sending(2, "pending-sending")  # still in memory, not yet in SQLite
        log.record_done(2, "r1", 1, b"done-here", lambda: None)  # newer than what SQLite holds

    asyncio.run(this_owner())
    ids = [f"r{n}" for n in range(0, 1300, 1)] + ["pending-sending", "never-seen"]
    many = log.lookup_many(ids)
    assert many == {request_id: known for request_id in ids if (known := log.lookup(request_id)) is not None}
    assert len(many) == 1201 and many["r1"].result == b"done-here" and many["r3"].result == b"result-3"
