"""Dead-letter records with Kafka Connect's error headers (`__connect.errors.*`), so tools built for
Connect's DLQ read ours."""

from __future__ import annotations

from confluent_kafka import Message

from connector.kafka.producer import Headers


def error_headers(message: Message, stage: str, error: BaseException) -> Headers:
    topic = message.topic() or ""
    headers: Headers = [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(message.partition()).encode()),
        ("__connect.errors.offset", str(message.offset()).encode()),
        ("__connect.errors.stage", stage.encode()),
        ("__connect.errors.class.name", type(error).__name__.encode()),
        ("__connect.errors.exception.class.name", type(error).__name__.encode()),
        ("__connect.errors.exception.message", str(error)[:1000].encode()),
    ]
    return headers + list(message.headers() or [])  # type: ignore[arg-type]  # list form from librdkafka
