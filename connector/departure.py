"""One request on its way out to the provider, as the sending side sees it (DESIGN.md section 4).

The dispatcher hands a `Departure` to the SMPP pool or the REST client. The reservation runs once, when
the request holds a window slot (SMPP) or its REST token, right before it would be written: that is where
the intent is made durable, so after a crash the requests found in flight are at most binds x window
plus the REST calls in flight, however long the queue for tokens was. `on_wire` turns True in the same
step as the first write, with no await between: a request not yet on the wire can be given back
(cancelled) without anything having left the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connector.waiter import Waiter


class Departure:
    __slots__ = ("_reserve", "on_wire", "reserved")

    def __init__(self, reserve: Callable[[Waiter[None]], None] | None = None) -> None:
        """`reserve(waiter)` starts making the intent durable and tells `waiter` once it is."""
        self._reserve = reserve
        self.reserved = False  # the reservation was started: the intent may be durable
        self.on_wire = False

    def before_first_write(self) -> asyncio.Future[None] | None:
        """What to await before the first write (the reservation), once; None when there is nothing to
        wait for. Not a coroutine: every request passes here, most of them once, and a coroutine frame
        would be resumed again with each of their later steps."""
        if self.reserved or self._reserve is None:
            return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.reserve_to(future)
        return future

    def reserve_to(self, waiter: Waiter[None]) -> bool:
        """`before_first_write` for a callback-driven sender: True when `waiter` will be told once the
        reservation is durable, False when there is nothing to wait for."""
        if self.reserved or self._reserve is None:
            return False
        self.reserved = True
        self._reserve(waiter)
        return True

    def written(self) -> None:
        self.on_wire = True
