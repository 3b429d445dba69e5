"""Wires the roles of one process together and runs them until stopped (SIGTERM/SIGINT or `stop`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from connector.config import Role, Settings
from connector.correlation import LocalIndex
from connector.correlator.correlator import Correlator
from connector.correlator.finals import RequestFinals
from connector.dispatcher import Dispatcher, drain_capacity
from connector.dispatcher.delivery import DeliverHandler
from connector.dispatcher.intents import IntentLog
from connector.dispatcher.routing import Router
from connector.errors import ConfigError
from connector.http_app import build_http_app
from connector.httpserver import UvicornServer
from connector.kafka.producer import AsyncProducer
from connector.kafka.reports import ReportRecords
from connector.kafka.serde import Serde, Serialization, make_serde
from connector.kafka.topics import ensure_topics
from connector.metrics import Metrics
from connector.ratelimit import RateLimit
from connector.rest.client import RestClient
from connector.rest.configured import rest_client
from connector.schemas import SchemaName
from connector.smpp.pool import BindPool, PoolSettings, RetryPolicy
from connector.smpp.session import BindType, Endpoint, Timeouts
from connector.stats import ProcessStats
from connector.webhook.app import WebhookApp

log = logging.getLogger(__name__)


def send_rate(rate: float, burst: float, margin: float, slack: bool = True) -> RateLimit:
    """`margin` below the SMSC's rate and, with `slack`, half of that margin as slack for late wake-ups:
    one second then holds at most rate * (1 - margin / 2) + burst grants, under the SMSC's rate + burst."""
    return RateLimit(rate * (1 - margin), burst, slack=rate * margin / 2 if slack else 0.0)


def pool_settings(settings: Settings) -> PoolSettings:
    smpp = settings.smpp
    return PoolSettings(
        endpoint=Endpoint(
            smpp.host, smpp.port, smpp.system_id.get_secret_value(), smpp.password.get_secret_value(), smpp.system_type
        ),
        binds=smpp.binds,
        bind_type=BindType(smpp.bind_type),
        receiver_binds=smpp.receiver_binds,
        rate=send_rate(smpp.rate_per_bind, smpp.burst, smpp.rate_margin, smpp.rate_slack),
        window=smpp.window,
        timeouts=Timeouts(
            response=smpp.response_timeout,
            enquire_link_interval=smpp.enquire_link_interval,
            enquire_link_response=smpp.enquire_link_timeout,
        ),
        reconnect=RetryPolicy(smpp.reconnect_base, smpp.reconnect_cap, smpp.max_attempts),
        throttle_pause=smpp.throttle_pause,
    )


class Connector:
    """All roles of one process (DESIGN.md section 1); `run()` returns after a graceful shutdown:
    the webhook stops taking callbacks first, then the dispatcher drains, commits and unbinds."""

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
        roles = set(settings.roles)
        report_serde = serde(SchemaName.DELIVERY_REPORT, topics.reports_raw)
        reports = ReportRecords(topics, report_serde, serde(SchemaName.DELIVERY_REPORT, topics.delivery_reports))
        reply_serde = serde(SchemaName.INBOUND_REPLY, topics.inbound_replies)
        self.producer = AsyncProducer(kafka.bootstrap_servers, kafka.producer)
        self.index = LocalIndex(settings.dispatcher.correlation_capacity)
        self.metrics = Metrics()
        self.reports = DeliverHandler(settings, self.producer, reports, reply_serde, self.index)
        self.pool: BindPool | None = None
        self.rest: RestClient | None = None
        self.dispatcher: Dispatcher | None = None
        if Role.DISPATCHER in roles:
            if settings.smpp.configured:
                self.pool = BindPool(pool_settings(settings), self.reports)
                if self.pool.settings.endpoint.beyond_smpp34:
                    log.warning(
                        "smpp credentials are longer than SMPP 3.4's 15/8 octets; sent whole, as ViHAT issues them"
                    )
            else:
                log.info("smpp.system_id is empty: no SMPP binds, SMS go over REST")
            self.rest = rest_client(settings)
            self.dispatcher = Dispatcher(
                settings,
                self.producer,
                Router(settings, self.pool, self.rest),
                serde(SchemaName.SEND_REQUEST, topics.send_requests),
                serde(SchemaName.SUBMIT_RESULT, topics.submit_results),
                serde(SchemaName.MESSAGE_INDEX_ENTRY, topics.message_index),
                self.index,
                self.metrics,
                IntentLog.on_kafka(
                    kafka.bootstrap_servers,
                    topics.dispatch_state,
                    self.producer,
                    settings.dispatcher.state_dir,
                    settings.dispatcher.idempotency_window,
                    kafka.consumer,
                ),
                drain_capacity(
                    settings, smpp=self.pool is not None, rest=bool(settings.rest.api_key.get_secret_value())
                ),
            )
            log.info("dispatcher holds at most %d requests in progress", self.dispatcher.capacity)
        self.correlator: Correlator | None = None
        self.finals: RequestFinals | None = None
        if Role.CORRELATOR in roles:
            self.correlator = Correlator(
                settings, self.producer, serde(SchemaName.MESSAGE_INDEX_ENTRY, topics.message_index), report_serde
            )
            self.finals = RequestFinals(settings, self.producer, reports.correlated)
        self.webhook: WebhookApp | None = None
        if Role.WEBHOOK in roles:
            if not settings.webhook.token.get_secret_value():
                raise ConfigError("webhook.token: required when the webhook role is on (VIHAT_WEBHOOK__TOKEN)")
            self.webhook = WebhookApp(settings, self.producer, reports, reply_serde, self.index)
        self.metrics.attach(self.stats)
        http_app = build_http_app(self.metrics, self.readiness, self.webhook.routes if self.webhook else [])
        served = self.webhook.in_front_of(http_app) if self.webhook else http_app
        self.http_server = UvicornServer(served, settings.http.host, settings.http.port)
        self.stop_event: asyncio.Event | None = None
        self._starting: str | None = "starting: checking the Kafka topics this process needs"
        self.started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def readiness(self) -> list[str]:
        """What keeps this process from doing its job; empty when ready."""
        problems = [self._starting] if self._starting else []
        if not await asyncio.to_thread(self.producer.is_connected, 1.0):
            problems.append("Kafka producer has no broker connection")
        if self.rest is not None and not self.rest.reachable:
            if self.pool is None:
                problems.append("the REST API is unreachable (REST only: smpp.system_id is empty)")
            elif self.pool.healthy_binds == 0:
                problems.append("no SMPP bind is up and the REST API is unreachable")
        return problems

    async def run(self, install_signal_handlers: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        self.stop_event = stop = asyncio.Event()
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(signum, stop.set)
        await self.http_server.start()
        log.info(
            "HTTP server (probes, metrics%s) on %s:%d",
            ", callbacks" if self.webhook else "",
            self.settings.http.host,
            self.http_server.port,
        )
        try:
            report = await asyncio.to_thread(ensure_topics, self.settings, self.settings.roles)
        except BaseException:
            await self.http_server.stop()
            raise
        log.info("topics ready: %d checked, created %s", len(report.checked), report.created or "none")
        self._starting = None
        await self.producer.start()
        if self.pool is not None:
            await self.pool.start()
        dispatching = asyncio.create_task(self.dispatcher.run(stop)) if self.dispatcher else None
        correlating = asyncio.create_task(self.correlator.run(stop)) if self.correlator else None
        finalizing = asyncio.create_task(self.finals.run(stop)) if self.finals else None
        summary = asyncio.create_task(self._summarize())
        if self.dispatcher is not None:
            await self.dispatcher.ready.wait()
        if self.correlator is not None:
            await self.correlator.ready.wait()
        self.started.set()
        try:
            await stop.wait()
        finally:
            summary.cancel()
            await self.http_server.stop()
            if dispatching is not None:
                await dispatching  # drains in-flight work, flushes the producer, commits
            if correlating is not None:
                await correlating
            if finalizing is not None:
                await finalizing
            await self.producer.close()
            if self.pool is not None:
                await self.pool.close()
            if self.rest is not None:
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

    def stats(self) -> ProcessStats:
        return ProcessStats(
            delivery=self.reports.stats(),
            kafka_delivery_failures=self.producer.failed_deliveries,
            kafka_requests=self._kafka_requests(),
            dispatcher=self.dispatcher.stats() if self.dispatcher else None,
            pool=self.pool.stats() if self.pool else None,
            correlator=self.correlator.stats() if self.correlator else None,
            finals=self.finals.stats() if self.finals else None,
            webhook=self.webhook.stats() if self.webhook else None,
        )

    def _kafka_requests(self) -> dict[str, int]:
        requests = {"producer": self.producer.broker_requests}
        for name, role in (("dispatcher", self.dispatcher), ("correlator", self.correlator), ("finals", self.finals)):
            if role is not None:
                requests[name] = role.broker_requests
        return requests

    def _log_summary(self) -> None:
        log.info("summary: %s", self.stats().summary_line())
