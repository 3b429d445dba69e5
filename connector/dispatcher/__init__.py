"""The dispatcher role: send requests from Kafka to the provider and take in what the SMSC delivers.

- `pipeline`: the consumer-side pipeline, one final SubmitResult per request;
- `validation`: what makes a request sendable, checked before anything is written;
- `routing`: which route a request takes and how it is sent;
- `intents`: the intent log that keeps sends unique across restarts and rebalances;
- `delivery`: deliver_sm (receipts and MO replies) from the binds into Kafka.
"""

from connector.dispatcher.pipeline import Dispatcher, drain_capacity

__all__ = ["Dispatcher", "drain_capacity"]
