"""Rate at the edge (issue 11): sends spaced exactly at an SMSC's limit are throttled by ordinary jitter.

A backlog is sent through 2 binds at 30 submit_sm/s each to the simulator, which measures arrival times
and answers ESME_RTHROTTLED when a bind goes over 30/s: counted per trailing second (as operators state
their limits), or by a token bucket with a burst of 1 (stricter than most SMSCs). Printed per
`smpp.rate_margin`: throttled submits, the busiest one-second window at the SMSC, and the share of the
configured rate used under the backlog (target: no throttle, >= 98 %).

    .venv/bin/python bench/bench_rate.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import time
from collections.abc import Callable

from connector.app import send_rate
from connector.simulator import SimulatorSettings, SimulatorThread
from connector.simulator.smsc import DEMO_PASSWORD, DEMO_SYSTEM_ID
from connector.smpp.encoding import encode_text
from connector.smpp.pool import BindPool, PoolSettings
from connector.smpp.session import Endpoint
from connector.smpp.status import CommandStatus

BINDS, RATE = 2, 30.0


def busiest_window(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


async def send_backlog(port: int, margin: float, slack: bool, seconds: float) -> float:
    def accept(_pdu: object, respond: Callable[[int], None]) -> None:
        respond(CommandStatus.ESME_ROK)

    settings = PoolSettings(
        Endpoint("127.0.0.1", port, DEMO_SYSTEM_ID, DEMO_PASSWORD),
        binds=BINDS,
        rate=send_rate(RATE, 1.0, margin, slack),
    )
    pool = BindPool(settings, accept)
    await pool.start()
    while pool.healthy_binds < BINDS:  # every bind up before the backlog is spread over them
        await asyncio.sleep(0.05)
    message = encode_text("Your code is 123456", force_unicode=None, reference=1)
    count = int(BINDS * RATE * seconds)
    started = time.monotonic()
    await asyncio.gather(*(pool.submit(message, "84968501615", "VIHAT", started + 600) for _ in range(count)))
    elapsed = time.monotonic() - started
    await pool.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    cases = [
        ("per-second count", True, 0.0, True),
        ("per-second count", True, 0.015, True),
        ("token bucket, burst 1", False, 0.015, False),
        ("token bucket, burst 1", False, 0.05, False),
    ]
    for smsc, window, margin, slack in cases:
        simulator = SimulatorThread(
            SimulatorSettings(throttle_rate=RATE, throttle_burst=1.0, throttle_window=window, keep_messages=False)
        )
        simulator.start()
        try:
            elapsed = asyncio.run(send_backlog(simulator.port, margin, slack, args.seconds))
            binds = [b for b in simulator.simulator.stats.binds if b.submit_times]
            throttled = sum(b.throttled for b in simulator.simulator.stats.binds)
            accepted = sum(len(b.submit_times) for b in binds)
            busiest = max(busiest_window(b.submit_times) for b in binds)
            used = accepted / elapsed / (BINDS * RATE)
            steady = sum((len(b.submit_times) - 1) / (b.submit_times[-1] - b.submit_times[0]) for b in binds)
        finally:
            simulator.stop()
        print(
            f"SMSC {smsc}, rate_margin {margin:.3f}, rate_slack {str(slack).lower()}: {accepted} accepted in "
            f"{elapsed:.1f}s over {BINDS} binds at "
            f"{RATE:.0f}/s, {throttled} throttled, busiest one-second window {busiest}; rate used: "
            f"{steady / (BINDS * RATE):.1%} per bind while sending, {used:.1%} overall",
            flush=True,
        )


if __name__ == "__main__":
    main()
