"""The provider's HTTP callbacks (SMS status, chat-app status, two-way replies) into Kafka."""
