"""What each part of a process has counted, as frozen values: every role and the bind pool answer
`stats()` with one of these, and the Prometheus collector and the summary line read only these, never
the objects' internals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    consumed: int
    in_flight: int
    capacity: int  # requests held at most before the partitions pause
    held_peak: int
    results: Mapping[tuple[str, str, str], int]  # (channel, route, status)
    provider_codes: Mapping[tuple[str, str], int]  # (route, code)
    dead_letters: int
    replayed: int
    skipped: int
    released: int
    ambiguous: int


@dataclass(frozen=True, slots=True)
class PoolStats:
    binds_by_state: Mapping[str, int]
    bound: int  # submit-capable binds that are bound
    senders: int  # submit-capable binds configured
    window_in_use: int
    throttles: int
    reconnects: int
    token_wait_seconds: Mapping[str, float]  # per bind


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    by_status: Mapping[str, int]  # receipts written to Kafka
    unparseable: int
    kafka_failures: int
    foreign: int
    correlated_here: int  # reports tied to their request by this process: straight to delivery-reports


@dataclass(frozen=True, slots=True)
class CorrelatorStats:
    counts: Mapping[str, int]  # hit, late, uncorrelated
    held: int


@dataclass(frozen=True, slots=True)
class FinalsStats:
    emitted: int


@dataclass(frozen=True, slots=True)
class WebhookStats:
    responses: Mapping[tuple[str, int], int]  # (endpoint, HTTP status)
    accepted: Mapping[tuple[str, str], int]  # (source, status) written to Kafka
    duplicates_absorbed: int
    correlated_here: int


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """One process: the parts it runs (None for those it does not)."""

    delivery: DeliveryStats
    kafka_delivery_failures: int
    kafka_requests: Mapping[str, int]  # requests sent to the brokers, per client (producer, role consumers)
    dispatcher: DispatcherStats | None = None
    pool: PoolStats | None = None
    correlator: CorrelatorStats | None = None
    finals: FinalsStats | None = None
    webhook: WebhookStats | None = None

    def summary_line(self) -> str:
        parts = [f"dlrs={dict(self.delivery.by_status)}"]
        if self.correlator is not None:
            parts.append(f"correlation={dict(self.correlator.counts)} held={self.correlator.held}")
        dispatcher = self.dispatcher
        if dispatcher is not None:
            parts.append(
                f"consumed={dispatcher.consumed} in_flight={dispatcher.in_flight}/{dispatcher.capacity} "
                f"held_peak={dispatcher.held_peak} results={dict(dispatcher.results)} skipped={dispatcher.skipped} "
                f"released={dispatcher.released} dead_letters={dispatcher.dead_letters}"
            )
        if self.pool is not None:
            parts.append(
                f"binds_bound={self.pool.bound}/{self.pool.senders} "
                f"reconnects={self.pool.reconnects} throttles={self.pool.throttles}"
            )
        if self.webhook is not None:
            codes: Counter[int] = Counter()
            for (_endpoint, code), count in self.webhook.responses.items():
                codes[code] += count
            parts.append(f"webhook responses={dict(codes)} duplicates_absorbed={self.webhook.duplicates_absorbed}")
        return " ".join(parts)
