"""What whoever wakes a waiter needs of it: `done()`, then `set_result` or `set_exception`.

An asyncio.Future is one. So is a step of the bind pool's callback-driven send (connector/smpp/pool.py),
which carries the send on at once instead of resuming a task: the window, the intent log and the session
wake either kind the same way."""

from __future__ import annotations

from typing import Protocol, TypeVar

T_contra = TypeVar("T_contra", contravariant=True)


class Waiter(Protocol[T_contra]):
    def done(self) -> bool:
        """True once answered or given up: whoever wakes waiters skips it."""
        ...

    def set_result(self, result: T_contra, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...
