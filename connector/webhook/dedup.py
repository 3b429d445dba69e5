"""Repeated callbacks of the same (message id, status) become one record: a retry that arrives while
the first is still on its way to Kafka waits for that same delivery instead of producing again."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable


class DeliveryDeduplicator:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._deliveries: OrderedDict[Hashable, asyncio.Future[object]] = OrderedDict()
        self.absorbed = 0

    def delivery(self, key: Hashable, produce: Callable[[], asyncio.Future[object]]) -> asyncio.Future[object]:
        """The delivery for `key`: the existing one unless it failed, else a new one from `produce`."""
        existing = self._deliveries.get(key)
        if existing is not None and not (existing.done() and (existing.cancelled() or existing.exception())):
            self.absorbed += 1
            self._deliveries.move_to_end(key)
            return existing
        future = produce()
        self._deliveries[key] = future
        if len(self._deliveries) > self._capacity:
            self._deliveries.popitem(last=False)
        return future
