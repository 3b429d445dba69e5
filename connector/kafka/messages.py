"""Small helpers every consumer loop needs for the records it gets back from librdkafka."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, Message

log = logging.getLogger(__name__)


def is_record(message: Message) -> bool:
    """True for a record; False for an event, logged unless it is the harmless end-of-partition."""
    error = message.error()
    if error is None:
        return True
    if error.code() != KafkaError._PARTITION_EOF:
        log.warning("consumer error on %s: %s", message.topic(), error)
    return False


def position(message: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) of a consumed record; never None for a record without error."""
    return message.topic() or "", message.partition() or 0, message.offset() or 0
