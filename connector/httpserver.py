"""An ASGI app served by uvicorn inside an already running event loop (the connector's, or the
simulator's), so HTTP handlers share the loop with the Kafka producer and the SMPP sessions."""

from __future__ import annotations

import asyncio

import uvicorn
from starlette.types import ASGIApp


class UvicornServer:
    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            # uvicorn would take X-Forwarded-For from any peer on 127.0.0.1; who is a proxy is the
            # webhook's own decision (webhook.trusted_proxies), made from the real peer.
            proxy_headers=False,
            interface="asgi3",  # bound methods and wrappers are not recognised by uvicorn's auto-detection
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port in use, ...)
                raise RuntimeError("HTTP server stopped before it started")
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None
