"""The connector's topics, looked after as Kafka Connect and Kafka Streams look after theirs (DESIGN.md
section 2): each role names what it needs; at start-up missing topics are created with the configured
partitions, replication factor and configs, and existing ones are checked (compaction, co-partitioning).
A topic that is missing and may not be created, or one that is wrong, is a `TopicError` naming the topic,
what is wrong and how to fix it. Nothing here waits without saying what it waits for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from connector.config import Role, Settings
from connector.errors import TopicError

log = logging.getLogger(__name__)

_NOT_ALLOWED = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.POLICY_VIOLATION,
}


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic a role needs: its configs when created, and the topic whose partitions it must follow."""

    name: str
    purpose: str
    config: dict[str, str] = field(default_factory=dict)
    compacted: bool = False
    partitions_of: str | None = None  # co-partitioned with this topic: same partition count


@dataclass(frozen=True, slots=True)
class TopicState:
    partitions: int
    cleanup_policy: str


def required_topics(settings: Settings, roles: Iterable[Role]) -> list[TopicSpec]:
    """What the given roles read and write, in an order where every topic follows the one it copies."""
    names = settings.kafka.topics
    roles = set(roles)
    state_retention = str(int(settings.dispatcher.idempotency_window * 1000))
    index_retention = str(int(settings.correlator.correlation_window * 1000))
    specs = {
        names.send_requests: TopicSpec(names.send_requests, "input: send requests"),
        names.submit_results: TopicSpec(names.submit_results, "output: one result per request"),
        names.dead_letter: TopicSpec(names.dead_letter, "output: undecodable input"),
        names.message_index: TopicSpec(
            names.message_index,
            "internal: provider message id -> request, for correlation",
            {"cleanup.policy": "compact,delete", "retention.ms": index_retention},
            compacted=True,
        ),
        names.reports_raw: TopicSpec(
            names.reports_raw, "internal: reports before correlation", partitions_of=names.message_index
        ),
        names.delivery_reports: TopicSpec(names.delivery_reports, "output: correlated delivery reports"),
        names.inbound_replies: TopicSpec(names.inbound_replies, "output: two-way replies"),
        names.dispatch_state: TopicSpec(
            names.dispatch_state,
            "internal: the dispatcher's intent log",
            {"cleanup.policy": "compact,delete", "retention.ms": state_retention},
            compacted=True,
            partitions_of=names.send_requests,
        ),
    }
    wanted: list[str] = []
    if Role.DISPATCHER in roles:
        wanted += [
            names.send_requests,
            names.submit_results,
            names.dead_letter,
            names.message_index,
            names.reports_raw,
            names.delivery_reports,
            names.inbound_replies,
            names.dispatch_state,
        ]
    if Role.WEBHOOK in roles:
        wanted += [names.message_index, names.reports_raw, names.delivery_reports, names.inbound_replies]
    if Role.CORRELATOR in roles:
        wanted += [names.message_index, names.reports_raw, names.delivery_reports, names.dead_letter]
    ordered = [spec for spec in specs.values() if spec.name in wanted]
    return sorted(ordered, key=lambda spec: spec.partitions_of is not None)


class TopicAdmin:
    """The few admin calls this needs, each with a deadline."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        kafka = settings.kafka
        # Security settings (SASL, TLS) live in the consumer and producer extras; the admin needs them too.
        extra = {**kafka.producer, **kafka.consumer}
        security = {k: v for k, v in extra.items() if k.startswith(("security.", "sasl.", "ssl."))}
        self._admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers, **security})
        self._bootstrap = kafka.bootstrap_servers
        self._timeout = timeout

    def wait_for_cluster(self, timeout: float) -> None:
        """Reach the cluster, logging every failed attempt; TopicError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._admin.list_topics(timeout=min(2.0, max(0.5, deadline - time.monotonic())))
                return
            except KafkaException as exc:
                if time.monotonic() >= deadline:
                    raise TopicError(
                        f"cannot reach Kafka at {self._bootstrap} within {timeout:.0f}s ({exc.args[0]})"
                    ) from exc
                log.warning("waiting for Kafka at %s: %s", self._bootstrap, exc.args[0])
                time.sleep(1.0)

    def describe(self, names: Iterable[str]) -> dict[str, TopicState]:
        names = list(names)
        metadata = self._admin.list_topics(timeout=self._timeout).topics
        present = [name for name in names if name in metadata and metadata[name].error is None]
        states: dict[str, TopicState] = {}
        if not present:
            return states
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in present]
        futures = self._admin.describe_configs(resources, request_timeout=self._timeout)
        for resource, future in futures.items():
            entries = future.result()
            policy = entries["cleanup.policy"].value if "cleanup.policy" in entries else "delete"
            states[resource.name] = TopicState(len(metadata[resource.name].partitions), policy or "delete")
        return states

    def create(self, topic: NewTopic) -> None:
        future = self._admin.create_topics([topic], operation_timeout=self._timeout, request_timeout=self._timeout)[
            topic.topic
        ]
        try:
            future.result()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return  # another replica was first
            if error.code() in _NOT_ALLOWED:
                raise TopicError(
                    f"topic {topic.topic} is missing and this connector may not create it ({error.str()}); "
                    "create it with `vihat-connector topics create` as an administrator, or grant CREATE",
                    topic=topic.topic,
                ) from exc
            raise TopicError(f"topic {topic.topic} could not be created: {error.str()}", topic=topic.topic) from exc


@dataclass(slots=True)
class TopicReport:
    created: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def problems_of(spec: TopicSpec, state: TopicState, states: dict[str, TopicState]) -> list[str]:
    """What is wrong with an existing topic, each with the fix; empty when it is fine."""
    problems = []
    if spec.compacted and "compact" not in state.cleanup_policy.split(","):
        problems.append(
            f"topic {spec.name} ({spec.purpose}) has cleanup.policy={state.cleanup_policy} but must be compacted; "
            f"fix: kafka-configs.sh --alter --entity-type topics --entity-name {spec.name} "
            "--add-config cleanup.policy=[compact,delete]"
        )
    reference = states.get(spec.partitions_of or "")
    if reference is not None and state.partitions != reference.partitions:
        smaller = spec.name if state.partitions < reference.partitions else spec.partitions_of
        problems.append(
            f"topic {spec.name} ({spec.purpose}) has {state.partitions} partitions but {spec.partitions_of} has "
            f"{reference.partitions}; the two are co-partitioned and must have the same count; fix: "
            f"kafka-topics.sh --alter --topic {smaller} --partitions {max(state.partitions, reference.partitions)}"
        )
    return problems


def inspect_topics(settings: Settings, roles: Iterable[Role]) -> list[tuple[TopicSpec, TopicState | None, list[str]]]:
    """Every topic the roles need, as it is in the cluster (None when missing), with its problems."""
    admin = TopicAdmin(settings)
    admin.wait_for_cluster(settings.kafka.startup_timeout)
    specs = required_topics(settings, roles)
    states = admin.describe(spec.name for spec in specs)
    return [
        (spec, states.get(spec.name), problems_of(spec, states[spec.name], states) if spec.name in states else [])
        for spec in specs
    ]


def ensure_topics(settings: Settings, roles: Iterable[Role], *, create: bool | None = None) -> TopicReport:
    """Create what is missing (unless creation is off) and check everything; raise TopicError naming
    every topic that is missing or wrong."""
    kafka = settings.kafka
    create = kafka.create_topics if create is None else create
    admin = TopicAdmin(settings)
    admin.wait_for_cluster(kafka.startup_timeout)
    specs = required_topics(settings, roles)
    states = admin.describe(spec.name for spec in specs)
    report = TopicReport()
    missing = [spec for spec in specs if spec.name not in states]
    if missing and not create:
        names = ", ".join(spec.name for spec in missing)
        raise TopicError(
            f"missing topics: {names}; kafka.create_topics is false, so create them first "
            "(`vihat-connector topics create --config ...`)",
            topic=missing[0].name,
        )
    for spec in missing:
        reference = states.get(spec.partitions_of or "")
        partitions = reference.partitions if reference is not None else kafka.partitions
        admin.create(NewTopic(spec.name, partitions, kafka.replication_factor, config=dict(spec.config)))
        log.info("created topic %s (%d partitions, %s)", spec.name, partitions, spec.config or "default configs")
        report.created.append(spec.name)
    if missing:
        states = _describe_until_visible(admin, [spec.name for spec in specs])
    problems = [problem for spec in specs for problem in problems_of(spec, states[spec.name], states)]
    if problems:
        raise TopicError("; ".join(problems))
    report.checked = [spec.name for spec in specs]
    return report


def _describe_until_visible(admin: TopicAdmin, names: list[str], timeout: float = 15.0) -> dict[str, TopicState]:
    """A just-created topic reaches the metadata a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        states = admin.describe(names)
        absent = [name for name in names if name not in states]
        if not absent:
            return states
        if time.monotonic() > deadline:
            raise TopicError(f"topic {absent[0]} was created but is not in the cluster's metadata", topic=absent[0])
        time.sleep(0.2)
