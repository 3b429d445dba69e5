"""Which offsets may be committed: work completes out of order, offsets move only up to the highest
*contiguous* completed offset per partition (DESIGN.md section 4)."""

from __future__ import annotations

import logging
from collections import deque

from confluent_kafka import Consumer, TopicPartition

log = logging.getLogger(__name__)


class PartitionOffsets:
    __slots__ = ("_done", "_pending", "committable")

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self.committable: int | None = None  # the next offset to consume, as Kafka commits it

    def track(self, offset: int) -> None:
        self._pending.append(offset)

    def complete(self, offset: int) -> bool:
        """Mark `offset` done; True when the committable position moved."""
        pending, done = self._pending, self._done
        if not pending or offset < pending[0]:
            return False
        done.add(offset)
        last = None
        while pending and pending[0] in done:
            last = pending.popleft()
            done.discard(last)
        if last is None:
            return False
        # Offsets can have gaps (compaction, transaction markers): the next tracked one is exact.
        self.committable = pending[0] if pending else last + 1
        return True

    def passed(self, offset: int) -> bool:
        """`offset` needs no work: done as soon as it is seen (in order, after what is still pending)."""
        if self._pending:
            self._pending.append(offset)
            return self.complete(offset)
        self.committable = offset + 1
        return True

    @property
    def in_flight(self) -> int:
        return len(self._pending)


class OffsetTracker:
    """Per (topic, partition) bookkeeping for one consumer."""

    def __init__(self) -> None:
        self._partitions: dict[tuple[str, int], PartitionOffsets] = {}
        self._dirty: set[tuple[str, int]] = set()

    def track(self, topic: str, partition: int, offset: int) -> None:
        key = (topic, partition)
        offsets = self._partitions.get(key)
        if offsets is None:
            offsets = self._partitions[key] = PartitionOffsets()
        offsets.track(offset)

    def complete(self, topic: str, partition: int, offset: int) -> None:
        offsets = self._partitions.get((topic, partition))
        if offsets is not None and offsets.complete(offset):
            self._dirty.add((topic, partition))

    def passed(self, topic: str, partition: int, offset: int) -> None:
        """`track` and `complete` at once, for a record that needs no work."""
        key = (topic, partition)
        offsets = self._partitions.get(key)
        if offsets is None:
            offsets = self._partitions[key] = PartitionOffsets()
        if offsets.passed(offset):
            self._dirty.add(key)

    def take_commits(self) -> dict[tuple[str, int], int]:
        """Positions that moved since the last call."""
        commits = {}
        for key in self._dirty:
            position = self._partitions[key].committable
            if position is not None:
                commits[key] = position
        self._dirty.clear()
        return commits

    def forget(self, topic: str, partition: int) -> None:
        self._partitions.pop((topic, partition), None)
        self._dirty.discard((topic, partition))

    @property
    def in_flight(self) -> int:
        return sum(offsets.in_flight for offsets in self._partitions.values())


def commit_completed(consumer: Consumer, tracker: OffsetTracker, *, synchronous: bool) -> None:
    """Commit every position that moved; a failed commit is retried by the next one."""
    commits = tracker.take_commits()
    if not commits:
        return
    offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in commits.items()]
    try:
        if synchronous:
            consumer.commit(offsets=offsets, asynchronous=False)
        else:
            consumer.commit(offsets=offsets, asynchronous=True)
    except Exception as exc:  # noqa: BLE001 - next commit carries the same positions
        log.warning("offset commit failed: %s", exc)
