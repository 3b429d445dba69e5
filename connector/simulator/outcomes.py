"""Which delivery status the simulator reports for a message: a weighted mix, deterministic either by
a seed or by the destination number (so a test can pick a number to get a given status)."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

DEFAULT_MIX: dict[str, float] = {"DELIVRD": 0.85, "UNDELIV": 0.06, "REJECTD": 0.03, "EXPIRED": 0.03, "UNKNOWN": 0.03}
ERROR_CODES = {"DELIVRD": "000", "UNDELIV": "001", "REJECTD": "002", "EXPIRED": "003", "UNKNOWN": "004"}


@dataclass
class OutcomePicker:
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    seed: int | None = 1
    by_destination: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.mix) - set(ERROR_CODES)
        if unknown:
            raise ValueError(f"unknown DLR status in mix: {sorted(unknown)}")
        total = sum(self.mix.values())
        if total <= 0:
            raise ValueError("DLR mix weights must add up to more than 0")
        running = 0.0
        self._cumulative: list[tuple[float, str]] = []
        for status, weight in self.mix.items():
            running += weight / total
            self._cumulative.append((running, status))
        self._random = random.Random(self.seed)

    def pick(self, destination: str) -> str:
        point = (zlib.crc32(destination.encode()) % 10_000) / 10_000 if self.by_destination else self._random.random()
        for bound, status in self._cumulative:
            if point < bound:
                return status
        return self._cumulative[-1][1]
