"""Provider message id → request, for DLRs that reach this process (DESIGN.md section 8 moves this to
the correlator role; here it covers reports arriving on the binds of the process that sent)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndexEntry:
    request_id: str
    channel: str
    part_number: int
    total_parts: int
    metadata: dict[str, str]


class LocalIndex:
    """Bounded: the oldest ids are forgotten first; an id is dropped once its final report is in."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: dict[str, IndexEntry] = {}
        self.hits = 0
        self.misses = 0

    def add(self, message_id: str, entry: IndexEntry) -> None:
        entries = self._entries
        entries[message_id] = entry
        if len(entries) > self._capacity:
            del entries[next(iter(entries))]

    def lookup(self, message_id: str, *, final: bool) -> IndexEntry | None:
        entry = self._entries.pop(message_id, None) if final else self._entries.get(message_id)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def __len__(self) -> int:
        return len(self._entries)
