"""Run the simulator on its own event loop in a background thread (tests, demo, benchmarks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from connector.simulator.rest_api import RestSimulator, RestSimulatorSettings
from connector.simulator.smsc import SimulatorSettings, SmscSimulator

T = TypeVar("T")


class SimulatorThread:
    def __init__(self, settings: SimulatorSettings | None = None, rest: RestSimulatorSettings | None = None) -> None:
        self.simulator = SmscSimulator(settings)
        self.rest = RestSimulator(rest) if rest is not None else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="smsc-simulator", daemon=True)

    def __enter__(self) -> SmscSimulator:
        self.start()
        return self.simulator

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.simulator.port

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.simulator.start(), self._loop).result(10)
        if self.rest is not None:
            asyncio.run_coroutine_threadsafe(self.rest.start(), self._loop).result(10)

    @property
    def rest_url(self) -> str:
        assert self.rest is not None, "started without the REST API"
        return self.rest.base_url

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the simulator's loop (e.g. a two-way reply) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the simulator's loop (its state is not thread-safe) and return its result."""
        result: Future[T] = Future()

        def run() -> None:
            try:
                result.set_result(function())
            except Exception as exc:  # noqa: BLE001 - handed back to the caller
                result.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return result.result(10)

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.simulator.stop(), self._loop).result(10)
            if self.rest is not None:
                asyncio.run_coroutine_threadsafe(self.rest.stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()
