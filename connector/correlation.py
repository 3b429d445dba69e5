"""Provider message id → request, in memory: lets the process that sent a message enrich its own DLRs
and callbacks on reports-raw at once. Cross-replica correlation is the correlator role's (DESIGN.md section 8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


class IndexEntry(NamedTuple):  # one per message part: cheaper to build than a frozen dataclass
    request_id: str
    channel: str
    part_number: int
    total_parts: int
    metadata: Mapping[str, str]


class LocalIndex:
    """Bounded: the oldest ids are forgotten first; an id is dropped once its final report is in."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: dict[str, IndexEntry] = {}

    def add(self, message_id: str, entry: IndexEntry) -> None:
        entries = self._entries
        entries[message_id] = entry
        if len(entries) > self._capacity:
            del entries[next(iter(entries))]

    def lookup(self, message_id: str, *, final: bool) -> IndexEntry | None:
        return self._entries.pop(message_id, None) if final else self._entries.get(message_id)

    def __len__(self) -> int:
        return len(self._entries)
