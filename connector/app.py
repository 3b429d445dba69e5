"""Wires the roles of one process together and runs them until stopped (SIGTERM/SIGINT or `stop`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from connector.config import Settings
from connector.correlation import LocalIndex
from connector.dispatcher import Dispatcher
from connector.kafka.producer import AsyncProducer
from connector.kafka.serde import Serde, Serialization, make_serde
from connector.ratelimit import RateLimit
from connector.reports import DeliverHandler
from connector.rest.client import RestClient, RestEndpoint, RestPolicy
from connector.rest.codes import Api
from connector.routing import Router
from connector.schemas import SchemaName
from connector.smpp.pool import BindPool, PoolSettings, RetryPolicy
from connector.smpp.session import Endpoint, Timeouts

log = logging.getLogger(__name__)


def pool_settings(settings: Settings) -> PoolSettings:
    smpp = settings.smpp
    return PoolSettings(
        endpoint=Endpoint(
            smpp.host, smpp.port, smpp.system_id.get_secret_value(), smpp.password.get_secret_value(), smpp.system_type
        ),
        binds=smpp.binds,
        bind_type=smpp.bind_type,
        receiver_binds=smpp.receiver_binds,
        rate=RateLimit(smpp.rate_per_bind, smpp.burst),
        window=smpp.window,
        timeouts=Timeouts(
            response=smpp.response_timeout,
            enquire_link_interval=smpp.enquire_link_interval,
            enquire_link_response=smpp.enquire_link_timeout,
        ),
        reconnect=RetryPolicy(smpp.reconnect_base, smpp.reconnect_cap, smpp.max_attempts),
        throttle_pause=smpp.throttle_pause,
    )


def rest_endpoint(settings: Settings) -> RestEndpoint:
    rest = settings.rest
    return RestEndpoint(
        rest.base_url,
        {Api.SMS: rest.sms_path, Api.VOICE: rest.voice_path, Api.UPLOAD: rest.upload_path, Api.CHAT: rest.chat_path},
        rest.api_key.get_secret_value(),
        rest.secret_key.get_secret_value(),
    )


def rest_policy(settings: Settings) -> RestPolicy:
    rest = settings.rest
    return RestPolicy(rest.max_attempts, rest.backoff_base, rest.backoff_cap, rest.rate_per_endpoint)


class Connector:
    """All roles of one process; `run()` returns after a graceful shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        kafka = settings.kafka
        registry = None
        if kafka.serialization is Serialization.CONFLUENT:
            from confluent_kafka.schema_registry import SchemaRegistryClient

            registry = SchemaRegistryClient.new_client({"url": kafka.schema_registry_url or ""})

        def serde(name: SchemaName, topic: str) -> Serde:
            return make_serde(name, topic, kafka.serialization, registry)

        topics = kafka.topics
        self.producer = AsyncProducer(kafka.bootstrap_servers, kafka.producer)
        self.index = LocalIndex(settings.dispatcher.correlation_capacity)
        self.reports = DeliverHandler(
            settings,
            self.producer,
            serde(SchemaName.DELIVERY_REPORT, topics.reports_raw),
            serde(SchemaName.INBOUND_REPLY, topics.inbound_replies),
            self.index,
        )
        self.pool = BindPool(pool_settings(settings), self.reports)
        self.rest = RestClient.create(
            rest_endpoint(settings), rest_policy(settings), settings.rest.connect_timeout, settings.rest.read_timeout
        )
        self.router = Router(settings, self.pool, self.rest)
        self.dispatcher = Dispatcher(
            settings,
            self.producer,
            self.router,
            serde(SchemaName.SEND_REQUEST, topics.send_requests),
            serde(SchemaName.SUBMIT_RESULT, topics.submit_results),
            serde(SchemaName.MESSAGE_INDEX_ENTRY, topics.message_index),
            self.index,
        )
        self.stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, install_signal_handlers: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, self.stop_event.set)
        await self.producer.start()
        await self.pool.start()
        summary = asyncio.create_task(self._summarize())
        try:
            await self.dispatcher.run(self.stop_event)
        finally:
            summary.cancel()
            await self.pool.close()
            await self.rest.close()
            self._log_summary()
            log.info("connector stopped")

    def stop(self) -> None:
        """Thread-safe request for a graceful shutdown."""
        if self._loop is not None and self.stop_event is not None:
            self._loop.call_soon_threadsafe(self.stop_event.set)

    async def _summarize(self) -> None:
        while True:
            await asyncio.sleep(self.settings.dispatcher.summary_interval)
            self._log_summary()

    def _log_summary(self) -> None:
        dispatcher, pool = self.dispatcher, self.pool
        log.info(
            "summary: consumed=%d in_flight=%d results=%s dead_letters=%d binds_bound=%d/%d reconnects=%d "
            "throttles=%d dlrs=%s correlation hits=%d misses=%d",
            dispatcher.consumed,
            dispatcher.in_flight,
            dict(dispatcher.results),
            dispatcher.dead_letters,
            pool.healthy_binds,
            len(pool.slots),
            sum(s.reconnects for s in pool.slots),
            sum(s.throttles for s in pool.slots),
            dict(self.reports.by_status),
            self.index.hits,
            self.index.misses,
        )
