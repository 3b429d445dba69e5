"""deliver_sm is acknowledged only once Kafka has the report; otherwise the SMSC is asked to retry."""

from __future__ import annotations

import asyncio

from connector.config import Settings
from connector.correlation import LocalIndex
from connector.devstack.kafka_broker import free_port
from connector.dispatcher.delivery import DeliverHandler
from connector.kafka.producer import AsyncProducer
from connector.kafka.reports import ReportRecords
from connector.kafka.serde import SingleObjectSerde
from connector.schemas import SchemaName
from connector.smpp import codec
from connector.smpp.status import CommandStatus


def test_report_not_acknowledged_by_kafka_asks_the_smsc_to_retry() -> None:
    async def scenario() -> tuple[int, int]:
        # Nothing listens on this port: the produce can never be acknowledged.
        producer = AsyncProducer(f"127.0.0.1:{free_port()}", {"log_level": "0"})
        await producer.start()
        settings = Settings(kafka={"delivery_timeout": 0.5})
        report_serde = SingleObjectSerde(SchemaName.DELIVERY_REPORT)
        handler = DeliverHandler(
            settings,
            producer,
            ReportRecords(settings.kafka.topics, report_serde, report_serde),
            SingleObjectSerde(SchemaName.INBOUND_REPLY),
            LocalIndex(1000),
        )
        pdu = codec.decode(
            codec.encode(
                "deliver_sm", 1, esm_class=0x04, source_addr="84968501615", short_message=b"id:abc stat:DELIVRD err:000"
            )
        )
        answers: asyncio.Queue[int] = asyncio.Queue()
        handler(pdu, answers.put_nowait)
        status = await asyncio.wait_for(answers.get(), 5)
        await asyncio.sleep(0.6)  # past the timeout again: still one answer, one failure counted
        await producer.close(timeout=0.1)
        assert answers.empty()
        return status, handler.kafka_failures

    status, failures = asyncio.run(scenario())
    assert status == CommandStatus.ESME_RX_T_APPN and failures == 1
