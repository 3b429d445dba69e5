"""Rolling upgrades and crashes under a rate-limited backlog (issue 11): 2 binds at 30/s and more requests
waiting in the input topic than they can send in a minute. Each test prints its figures."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.config import Topics
from connector.devstack.stack import ConnectorProcess, produce_requests, sms_request
from connector.simulator import SimulatorThread
from tests.faults.conftest import SMPP_ENV, Tally, duplicate_sends, kill_and_restart, process_settings

pytestmark = pytest.mark.integration

BINDS, RATE, WINDOW = 2, 30, 10


def rate_limited(bootstrap: str, topics: Topics, smsc_port: int, group: str, **dispatcher: object) -> dict[str, object]:
    return process_settings(
        bootstrap,
        topics,
        smsc_port,
        group,
        smpp={"binds": BINDS, "rate_per_bind": RATE, "window": WINDOW},
        dispatcher={"max_in_flight": 2000, "shutdown_timeout": 10.0, **dispatcher},
    )


def summary_figure(log: Path, name: str) -> int:
    """The last value of `name=N` in the process's summary lines."""
    values = re.findall(rf"\b{name}=(\d+)", log.read_text())
    return int(values[-1]) if values else -1


def test_rolling_restart_under_a_backlog_leaves_nothing_ambiguous(
    kafka_bootstrap: str, topics: Topics, simulator_factory: Callable[..., SimulatorThread], tmp_path: Path
) -> None:
    count = 2000
    simulator = simulator_factory(throttle_rate=RATE, dlr_delay=0.2)
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"rr-{i}", "84968501615", f"rolling {i}") for i in range(count)],
    )
    settings = rate_limited(kafka_bootstrap, topics, simulator.port, "rolling")
    tally = Tally.open(kafka_bootstrap, topics)
    old = ConnectorProcess(settings, tmp_path, SMPP_ENV).start()
    new = None
    try:
        tally.read_until_distinct(100, timeout=60)
        time.sleep(3)  # the backlog is being worked off at the rate limit
        old.signal(signal.SIGTERM)  # what Kubernetes sends on every helm upgrade
        stopped_at = time.monotonic()
        new = ConnectorProcess(settings, tmp_path, SMPP_ENV).start()  # the new pod, started meanwhile
        code = old.wait(30)
        exit_seconds = time.monotonic() - stopped_at
        distinct = tally.read_until_distinct(count, timeout=120)
    finally:
        old.kill()
        if new is not None:
            new.signal(signal.SIGTERM)
            new.wait(60)
        tally.close()
    outcomes = tally.outcomes()
    twice = duplicate_sends(simulator.simulator)
    held, capacity = (
        summary_figure(old.log, "held_peak"),
        int(re.findall(r"in_flight=\d+/(\d+)", old.log.read_text())[-1]),
    )
    given_back = sum(
        int(n) for n in re.findall(r"handed over: \d+ finished on the wire, (\d+) given back", old.log.read_text())
    )
    print(
        f"\nrolling restart under a backlog ({BINDS} binds x {RATE}/s): {count} requests, "
        f"{outcomes['AMBIGUOUS']} AMBIGUOUS, {count - distinct} lost, {twice} sent twice, "
        f"{tally.records - distinct} repeated result records; old process exited {code} after {exit_seconds:.1f}s "
        f"and gave back {given_back} unsent requests; requests held in memory at most {held} (capacity {capacity})"
    )
    assert code == 0 and exit_seconds < settings["dispatcher"]["shutdown_timeout"] + 5  # type: ignore[index]
    assert distinct == count and outcomes["AMBIGUOUS"] == 0 and twice == 0 and tally.conflicting == []
    assert tally.records == count
    assert 0 < held <= capacity <= RATE * BINDS * 3 + BINDS * WINDOW


def test_kill_9_under_a_backlog_reports_ambiguous_only_what_was_on_the_wire(
    kafka_bootstrap: str, topics: Topics, simulator_factory: Callable[..., SimulatorThread], tmp_path: Path
) -> None:
    count = 600
    simulator = simulator_factory(throttle_rate=RATE, dlr_delay=0.2)
    produce_requests(
        kafka_bootstrap,
        topics.send_requests,
        [sms_request(f"k9b-{i}", "84968501615", f"crash {i}") for i in range(count)],
    )
    # Static membership, as the Helm chart sets it from the pod name: the restarted container rejoins at once.
    settings = rate_limited(kafka_bootstrap, topics, simulator.port, "kill9-backlog")
    settings["kafka"]["group_instance_id"] = "vihat-pod-0"  # type: ignore[index]
    tally = Tally.open(kafka_bootstrap, topics)
    try:
        run = kill_and_restart(settings, tmp_path, tally, results_before_kill=150, count=count, timeout=120)
    finally:
        tally.close()
    distinct, outcomes = run.distinct, tally.outcomes()
    twice = duplicate_sends(simulator.simulator)
    print(
        f"\nkill -9 under a backlog ({BINDS} binds x {RATE}/s, window {WINDOW}): {count} requests, "
        f"{run.finished_before} finished before the kill, {outcomes['AMBIGUOUS']} AMBIGUOUS (bound: "
        f"{BINDS * WINDOW} on the wire), {count - distinct} lost, {twice} sent twice; first result "
        f"{run.first_result:.1f}s after the kill"
    )
    assert distinct == count and twice == 0 and tally.conflicting == []
    assert outcomes["AMBIGUOUS"] <= BINDS * WINDOW
