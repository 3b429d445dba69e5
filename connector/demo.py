"""The README's first command: a local broker, the simulator and the connector, a mixed batch of
requests, and a summary a person can read."""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

from connector.config import Settings
from connector.devstack.kafka_broker import existing_or_local_broker
from connector.devstack.stack import (
    ConnectorThread,
    TopicReader,
    channel_request,
    prefixed_topics,
    produce_requests,
    sms_request,
)
from connector.schemas import SchemaName
from connector.simulator import RestSimulatorSettings, SimulatorSettings, SimulatorThread
from connector.simulator.accounts import DEMO_API_KEY, DEMO_SECRET_KEY
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID

DEMO_WEBHOOK_TOKEN = "demo-callback-token"  # local demo only

VIETNAMESE = "Mã xác thực của bạn là {n}. Không chia sẻ mã này với bất kỳ ai."
LONG_VIETNAMESE = "Cảm ơn quý khách đã sử dụng dịch vụ của chúng tôi. " * 3
LONG_GSM = "Your parcel {n} is on its way. Track it at example.com/t/{n} - reply STOP to opt out. " * 3


def build_batch(total: int, now_ms: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    kinds = [
        ("short GSM", 0.28),
        ("Voice OTP", 0.05),
        ("voice from file", 0.03),
        ("Viber", 0.06),
        ("SMS over REST", 0.03),
        ("long GSM", 0.16),
        ("Vietnamese UCS2", 0.2),
        ("long UCS2", 0.1),
        ("invalid", 0.06),
        ("expired", 0.03),
        ("refused by SMSC", 0.03),
    ]
    batch: list[dict[str, Any]] = []
    for kind, share in kinds:
        for i in range(max(3, int(total * share))):
            n = len(batch)
            phone = f"849{rng.randrange(10**8):08d}"
            meta = {"kind": kind}
            if kind == "short GSM":
                batch.append(sms_request(f"demo-{n}", phone, f"Your code is {n:06d} [valid 5 min]", metadata=meta))
            elif kind == "Voice OTP":
                otp = {"code": f"{n % 10000:04d}", "lang": ("en", "kh")[i % 2]}
                batch.append(channel_request(f"demo-{n}", phone, "VOICE_OTP", meta, voice_otp=otp))
            elif kind == "voice from file":
                template = {"template_id": "b7856e7a687347bf86793329206356004024"}
                batch.append(channel_request(f"demo-{n}", phone, "VOICE_FILE", meta, voice_file=template))
            elif kind == "Viber":
                shapes: list[dict[str, Any]] = [
                    {"text": f"Order {n} shipped"},
                    {"text": f"Order {n} shipped", "button": {"caption": "Track", "action": "https://example.com/t"}},
                    {"image_url": "https://example.com/promo.png"},
                ]
                batch.append(channel_request(f"demo-{n}", phone, "VIBER", meta, viber=shapes[i % len(shapes)]))
            elif kind == "SMS over REST":
                batch.append(sms_request(f"demo-{n}", phone, VIETNAMESE.format(n=n), route="REST", metadata=meta))
            elif kind == "long GSM":
                batch.append(sms_request(f"demo-{n}", phone, LONG_GSM.format(n=n), metadata=meta))
            elif kind == "Vietnamese UCS2":
                batch.append(sms_request(f"demo-{n}", phone, VIETNAMESE.format(n=n), metadata=meta))
            elif kind == "long UCS2":
                batch.append(sms_request(f"demo-{n}", phone, LONG_VIETNAMESE + "😀", metadata=meta))
            elif kind == "invalid":
                bad = [
                    sms_request(f"demo-{n}", "+84 96 850", "bad phone", metadata=meta),
                    sms_request(f"demo-{n}", phone, "", metadata=meta),
                    sms_request(f"demo-{n}", phone, "bad sender", sender="A sender that is too long", metadata=meta),
                    sms_request(f"demo-{n}", phone, "forced GSM with đ", unicode=False, metadata=meta),
                ]
                batch.append(bad[i % len(bad)])
            elif kind == "expired":
                batch.append(sms_request(f"demo-{n}", phone, "too late", expires_at_ms=now_ms - 60_000, metadata=meta))
            else:
                batch.append(sms_request(f"demo-{n}", f"999{rng.randrange(10**8):08d}", "refused", metadata=meta))
    return batch


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def run_demo(total: int) -> int:
    started = time.monotonic()
    print("Kafka: KAFKA_BOOTSTRAP_SERVERS, or a single-node KRaft broker started on 127.0.0.1 ...", flush=True)
    bootstrap, broker = existing_or_local_broker()
    print(f"Kafka ready on {bootstrap} after {time.monotonic() - started:.1f}s", flush=True)
    rest_settings = RestSimulatorSettings(callback_delay=0.5)
    simulator = SimulatorThread(SimulatorSettings(throttle_rate=30.0, dlr_delay=0.5), rest_settings)
    simulator.start()
    print(
        f"ViHAT simulator: SMSC (30 submit_sm/s per bind) on 127.0.0.1:{simulator.port}, "
        f"REST API on {simulator.rest_url}",
        flush=True,
    )
    topics = prefixed_topics(f"demo{int(time.time())}")
    settings = Settings(
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": topics.model_dump(),
            "group_id": "vihat-demo",
            "partitions": 4,  # the connector creates its topics, as on a fresh cluster
        },
        smpp={
            "port": simulator.port,
            "system_id": DEMO_SYSTEM_ID,
            "password": DEMO_PASSWORD,
            "binds": 4,
            "rate_per_bind": 30,
        },
        rest={"base_url": simulator.rest_url, "api_key": DEMO_API_KEY, "secret_key": DEMO_SECRET_KEY},
        roles=["dispatcher", "webhook", "correlator"],
        webhook={"token": DEMO_WEBHOOK_TOKEN},
        http={"host": "127.0.0.1", "port": 0},
    )
    connector = ConnectorThread(settings).start()
    assert connector.connector.http_server is not None
    webhook = f"http://127.0.0.1:{connector.connector.http_server.port}"
    rest_settings.sms_callback_url = f"{webhook}/callbacks/sms-status/{DEMO_WEBHOOK_TOKEN}"
    rest_settings.chat_callback_url = f"{webhook}/callbacks/chat-status/{DEMO_WEBHOOK_TOKEN}"
    # Viber replies come to the sender's one URL, the chat-status one (seed: "the URL per sender").
    print(f"connector running: dispatcher + webhook on {webhook}", flush=True)
    results = TopicReader(bootstrap, topics.submit_results, SchemaName.SUBMIT_RESULT)
    reports = TopicReader(bootstrap, topics.delivery_reports, SchemaName.DELIVERY_REPORT)
    replies = TopicReader(bootstrap, topics.inbound_replies, SchemaName.INBOUND_REPLY)
    try:
        batch = build_batch(total, int(time.time() * 1000))
        produce_requests(bootstrap, topics.send_requests, batch)
        print(
            f"produced {len(batch)} requests to {topics.send_requests}; 4 binds x 30/s, waiting for results ...",
            flush=True,
        )
        results.read_until(len(batch), timeout=180)
        assert simulator.rest is not None
        callbacks = wait_for_callbacks(simulator, results.records)
        for n in range(5):
            simulator.run(simulator.rest.post_reply(f"8490000000{n}", ("STOP", "Cảm ơn", "OK")[n % 3]))
        smpp_parts = sum(r["parts"] for r in results.records if r["status"] == "ACCEPTED" and r["route"] == "SMPP")
        multipart = sum(1 for r in results.records if r["status"] == "ACCEPTED" and r["parts"] > 1)
        reports.read_until(smpp_parts + callbacks + multipart, timeout=120)  # + one final per multipart
        replies.read_until(5, timeout=30)
    finally:
        connector.stop()
        simulator.stop()
        results.close()
        reports.close()
        replies.close()
        if broker is not None:
            broker.cleanup()
    ok = print_summary(batch, results.records, reports.records, simulator)
    print(f"two-way replies          {len(replies.records)} of 5 on {topics.inbound_replies}")
    ok = ok and len(replies.records) == 5
    print(f"everything stopped; demo took {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


def wait_for_callbacks(simulator: SimulatorThread, results: list[dict[str, Any]], timeout: float = 60) -> int:
    """Every accepted REST SMS and Viber message gets at least one status callback; wait until they are
    all posted and the simulator stops producing more (Viber SEEN follows DELIVERED)."""
    assert simulator.rest is not None
    stats = simulator.rest.stats
    minimum = sum(
        1 for r in results if r["status"] == "ACCEPTED" and r["channel"] in ("SMS", "VIBER") and r["route"] == "REST"
    )
    deadline = time.monotonic() + timeout
    last, steady_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        posted = stats.callbacks_posted
        if posted != last:
            last, steady_since = posted, time.monotonic()
        elif posted >= minimum and time.monotonic() - steady_since > 1.5:
            break
        time.sleep(0.2)
    return last


def print_summary(
    batch: list[dict[str, Any]],
    results: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    simulator: SimulatorThread,
) -> bool:
    by_status = Counter(r["status"] for r in results)
    by_kind: dict[str, Counter[str]] = {}
    for result in results:
        by_kind.setdefault(result["metadata"]["kind"], Counter())[result["status"]] += 1
    accepted = [r for r in results if r["status"] == "ACCEPTED"]

    def latencies(route: str) -> list[float]:
        return [(r["completed_at"] - r["received_at"]).total_seconds() * 1000 for r in accepted if r["route"] == route]

    span_ms = (
        (max(r["completed_at"] for r in results) - min(r["received_at"] for r in results)).total_seconds() * 1000
        if results
        else 0.0
    )
    parts = sum(r["parts"] for r in accepted if r["route"] == "SMPP")
    print()
    print("=" * 72)
    print(f"requests produced        {len(batch)}")
    print(f"submit results           {len(results)}  " + "  ".join(f"{k}={v}" for k, v in sorted(by_status.items())))
    for kind, counts in by_kind.items():
        print(f"  {kind:<22} " + "  ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    reasons = Counter((r["description"] or "")[:70] for r in results if r["status"] != "ACCEPTED")
    for reason, count in reasons.most_common(6):
        print(f"    {count:>4} x {reason}")
    print(
        f"SMPP parts sent          {parts}  (simulator saw {simulator.simulator.stats.submits}, "
        f"throttled {simulator.simulator.stats.throttled}, UCS2 parts "
        f"{simulator.simulator.stats.data_codings.get(8, 0)}, with UDH {simulator.simulator.stats.udh_parts})"
    )
    if simulator.rest is not None:
        sent = simulator.rest.stats.sent
        print(
            f"REST calls placed        SMS={sent['sms']}  voice={sent['voice']}  Viber={sent['chat']}  "
            f"(calls received {sum(simulator.rest.stats.calls.values())})"
        )
    sim = simulator.simulator.stats
    print(f"simulator DLRs           sent {sim.dlrs_sent}, acknowledged {sim.dlrs_acked}, retried {sim.dlrs_retried}")
    finals = [r for r in reports if r["part_number"] is None and (r["total_parts"] or 0) > 1]
    reports = [r for r in reports if r not in finals]
    for source in ("SMPP_DLR", "SMS_CALLBACK", "CHAT_CALLBACK"):
        of_source = [r for r in reports if r["source"] == source]
        correlated = sum(1 for r in of_source if r["request_id"])
        statuses = Counter(r["status"] for r in of_source)
        print(
            f"reports {source:<16} {len(of_source)}, correlated {correlated}  "
            + "  ".join(f"{k}={v}" for k, v in sorted(statuses.items()))
        )
    print(
        f"throughput               {len(results) / max(span_ms / 1000, 1e-3):.1f} results/s "
        f"over {span_ms / 1000:.1f}s (rate limit 4 binds x 30 submit_sm/s)"
    )
    for route in ("SMPP", "REST"):
        values = latencies(route)
        print(
            f"{route} submit latency (ms) p50={percentile(values, 50):.0f}  p99={percentile(values, 99):.0f}  "
            f"over {len(values)} accepted (consumed -> provider answered)"
        )
    print("SMPP latency includes queueing behind the 4 x 30/s rate limit")
    print("=" * 72)
    final_statuses = Counter(r["status"] for r in finals)
    print(
        f"request-level finals     {len(finals)} multipart requests  "
        + "  ".join(f"{k}={v}" for k, v in sorted(final_statuses.items()))
    )
    multipart = sum(1 for r in results if r["status"] == "ACCEPTED" and r["parts"] > 1)
    dlrs = sum(1 for r in reports if r["source"] == "SMPP_DLR")
    statuses_posted = simulator.rest.stats.callbacks if simulator.rest is not None else []
    callbacks = sum(1 for body in statuses_posted if "status" in body)  # replies have no status
    complete = (
        len(results) == len(batch) and dlrs == parts and len(reports) == parts + callbacks and len(finals) == multipart
    )
    if not complete:
        print("INCOMPLETE: some results or delivery reports did not arrive in time", file=sys.stderr)
    return complete
