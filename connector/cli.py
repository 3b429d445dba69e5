"""`vihat-connector`: run the connector, the simulator, the local Kafka broker or the demo;
check a configuration."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path

from connector.errors import ConfigError
from connector.logs import configure_logging


def _run(args: argparse.Namespace) -> int:
    from connector.app import Connector
    from connector.config import load_settings

    settings = load_settings(args.config)
    configure_logging(settings.log_level, settings.log_format.value)
    connector = Connector(settings)
    _tune_garbage_collector()
    with asyncio.Runner(loop_factory=_fast_event_loop()) as runner:
        runner.run(connector.run())
    return 0


def _tune_garbage_collector() -> None:
    """Almost nothing this service allocates dies in a reference cycle (about 1,000 objects in a run of
    25,000 requests), yet the collector took 9% of the dispatcher's CPU, mostly full collections walking
    what start-up made. Start-up's objects are frozen out of every collection, and the youngest generation
    is collected every 100,000 allocations instead of 700. Taking a poll of 500 requests makes about 10,000
    objects the collector tracks (18 to 25 per request), all still alive, and their tasks' first steps make
    more, so a lower threshold walked every batch once for nothing: at 10,000, 76 collections and 0.12 s
    in a run of 27,000 requests; at 100,000, one collection and 0.01 s. The dispatcher's peak RSS with a
    backlog of 1,000,000 went from 136 to 138 MB."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 10)


def _fast_event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed: the SMPP sessions, the webhook and the producer all share one loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _check_config(args: argparse.Namespace) -> int:
    from connector.config import load_settings, masked_dump

    settings = load_settings(args.config)
    print(json.dumps(masked_dump(settings), indent=2))
    return 0


def _topics(args: argparse.Namespace) -> int:
    from connector.config import Role, load_settings
    from connector.kafka.topics import ensure_topics, inspect_topics

    configure_logging("WARNING")
    settings = load_settings(args.config)
    roles = [Role(role) for role in args.roles] if args.roles else list(Role)
    if args.action == "create":
        report = ensure_topics(settings, roles, create=True)
        print(f"created: {', '.join(report.created) or 'nothing (all present)'}")
    failed = False
    for spec, state, problems in inspect_topics(settings, roles):
        if state is None:
            failed = True
            print(f"MISSING  {spec.name}  ({spec.purpose})")
            continue
        print(
            f"{'WRONG' if problems else 'ok':<8} {spec.name}  partitions={state.partitions} "
            f"cleanup.policy={state.cleanup_policy}"
        )
        for problem in problems:
            failed = True
            print(f"         {problem}")
    return 1 if failed else 0


def _simulate(args: argparse.Namespace) -> int:
    from connector.simulator.smsc import SimulatorSettings, SmscSimulator

    configure_logging("INFO")
    settings = SimulatorSettings(
        host="127.0.0.1",
        port=args.port,
        throttle_rate=args.throttle_rate,
        dlr_delay=args.dlr_delay,
        keep_messages=False,
    )

    async def serve() -> None:
        simulator = SmscSimulator(settings)
        await simulator.start()
        print(f"SMSC simulator on 127.0.0.1:{simulator.port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await simulator.stop()

    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_fast_event_loop()) as runner:
        runner.run(serve())
    return 0


def _upload_voice(args: argparse.Namespace) -> int:
    from connector.upload import upload_voice

    return upload_voice(args.file, args.config)


def _demo(args: argparse.Namespace) -> int:
    from connector.demo import run_demo

    configure_logging("WARNING")
    return run_demo(args.requests)


def _kafka(args: argparse.Namespace) -> int:
    from connector.devstack.kafka_broker import main as kafka_main

    return kafka_main(args.kafka_args)


def _role_names() -> list[str]:
    from connector.config import Role

    return [role.value for role in Role]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vihat-connector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the connector")
    run.add_argument("--config", type=Path, default=None, help="YAML settings file")
    run.set_defaults(handler=_run)
    check = sub.add_parser("check-config", help="validate and print the effective config, secrets masked")
    check.add_argument("--config", type=Path, default=None)
    check.set_defaults(handler=_check_config)
    topics = sub.add_parser("topics", help="check or create the topics the connector's roles need")
    topics.add_argument("action", choices=["check", "create"])
    topics.add_argument("--config", type=Path, default=None)
    topics.add_argument("--roles", nargs="*", choices=_role_names(), help="default: every role")
    topics.set_defaults(handler=_topics)
    simulate = sub.add_parser("simulate", help="run the ViHAT SMSC simulator on 127.0.0.1")
    simulate.add_argument("--port", type=int, default=2775)
    simulate.add_argument("--throttle-rate", type=float, default=30.0, help="per bind; 0 = off")
    simulate.add_argument("--dlr-delay", type=float, default=0.2)
    simulate.set_defaults(handler=_simulate)
    upload = sub.add_parser("upload-voice", help="upload an mp3 recording and print its templateId")
    upload.add_argument("file", type=Path)
    upload.add_argument("--config", type=Path, default=None)
    upload.set_defaults(handler=_upload_voice)
    demo = sub.add_parser("demo", help="Kafka + simulator + connector on this machine, with a summary")
    demo.add_argument("--requests", type=int, default=1200)
    demo.set_defaults(handler=_demo)
    kafka = sub.add_parser("kafka", help="local Kafka broker: fetch | run [--port N]")
    kafka.add_argument("kafka_args", nargs=argparse.REMAINDER)
    kafka.set_defaults(handler=_kafka)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
