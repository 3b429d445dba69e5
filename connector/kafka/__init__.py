"""Kafka side: serialization, the producer with delivery tracking, offsets, the consumer loop."""
