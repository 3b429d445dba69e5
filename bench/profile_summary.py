"""Summarize py-spy's collapsed stacks (`--format raw`): the share of samples per area of the code, and
the functions with the most samples of their own.

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# First match wins, looking from the leaf up: where the time of a sample is charged.
AREAS = [
    ("Avro encode/decode", re.compile(r"fastavro|serde\.py")),
    ("smpplib PDUs", re.compile(r"smpplib")),
    ("SMPP codec/session", re.compile(r"connector/smpp/")),
    ("receipts", re.compile(r"receipts\.py|_strptime")),
    ("producer (produce, callbacks)", re.compile(r"kafka/producer\.py|confluent_kafka")),
    ("intent log (SQLite)", re.compile(r"intents\.py|sqlite3")),
    ("correlator", re.compile(r"connector/correlator/")),
    ("dispatcher pipeline", re.compile(r"connector/dispatcher/|connector/records\.py|connector/requests\.py")),
    ("consumer loop", re.compile(r"kafka/consumer\.py|kafka/offsets\.py")),
    ("asyncio / event loop", re.compile(r"asyncio|uvloop|selectors")),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    areas: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if "concurrent/futures/thread.py:81" in frames[-1]:  # a pool thread waiting for work
            continue  # idle, though py-spy sampled it
        total += count
        leaves[frames[-1]] += count
        area = next((name for frame in reversed(frames) for name, pattern in AREAS if pattern.search(frame)), "other")
        areas[area] += count
    print(f"{total} busy samples")
    for name, count in areas.most_common():
        print(f"  {count / total:6.1%}  {name}")
    print("functions with the most samples of their own:")
    for frame, count in leaves.most_common(args.top):
        print(f"  {count / total:6.1%}  {frame[:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
