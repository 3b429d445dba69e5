"""With the broker stopped, callbacks get 503; once it is back and the provider retries, none is missing
and none is doubled."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from connector.config import Settings
from connector.devstack.kafka_broker import LocalKafka
from connector.devstack.stack import ConnectorThread, TopicReader, create_topics, prefixed_topics
from connector.schemas import SchemaName
from connector.simulator import RestSimulatorSettings, SimulatorThread

pytestmark = pytest.mark.integration

TOKEN = "outage-token"


def test_callbacks_during_a_broker_outage_are_retried_and_land_once(
    own_broker: LocalKafka, simulator_factory: Callable[..., SimulatorThread]
) -> None:
    topics = prefixed_topics("outage")
    create_topics(own_broker.bootstrap_servers, topics)
    settings = Settings(
        roles=["webhook"],
        kafka={
            "bootstrap_servers": own_broker.bootstrap_servers,
            "topics": topics.model_dump(),
            "producer": {"log_level": "0"},
        },
        webhook={"token": TOKEN, "ack_timeout": 1.0, "retry_after": 1},
        http={"host": "127.0.0.1", "port": 0},
    )
    connector = ConnectorThread(settings).start()
    server = connector.connector.http_server
    assert server is not None
    url = f"http://127.0.0.1:{server.port}/callbacks/chat-status/{TOKEN}"
    simulator = simulator_factory(rest=RestSimulatorSettings(callback_retry_delay=0.5, callback_attempts=200))
    rest = simulator.rest
    assert rest is not None
    count = 50
    try:
        own_broker.stop()
        stopped_at = time.monotonic()

        async def post_all() -> None:
            await asyncio.gather(
                *(
                    rest.post_callback(
                        url,
                        {
                            "status": "DELIVERED",
                            "message_id": f"outage-{i}",
                            "time": "2021-12-15T13:55:03.953",
                            "phone_number": "84968501615",
                            "channel": "Viber",
                            "time_zone": "GMT/UTC +7",
                        },
                    )
                    for i in range(count)
                )
            )

        poster = threading.Thread(target=simulator.run, args=(post_all(),))
        poster.start()
        deadline = time.monotonic() + 30
        while rest.stats.callbacks_failed_attempts < count and time.monotonic() < deadline:
            time.sleep(0.2)
        refused = rest.stats.callbacks_failed_attempts
        assert refused >= count and rest.stats.callbacks_posted == 0  # every callback got a 503 first
        own_broker.start()
        poster.join(120)
        recovered = time.monotonic() - stopped_at
        assert rest.stats.callbacks_posted == count
    finally:
        connector.stop()
    reader = TopicReader(own_broker.bootstrap_servers, topics.reports_raw, SchemaName.DELIVERY_REPORT)
    records = reader.read_until(count, timeout=30)
    time.sleep(1)
    records = reader.read_until(count + 1, timeout=2)  # anything doubled would show up here
    reader.close()
    ids = Counter(r["provider_message_id"] for r in records)
    print(
        f"{count} callbacks, {refused} refused with 503 during the outage, all acknowledged "
        f"{recovered:.1f}s after the broker stopped; {len(ids)} distinct reports, {len(records)} records"
    )
    assert len(ids) == count and len(records) == count
