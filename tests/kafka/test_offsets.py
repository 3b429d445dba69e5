from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector.kafka.offsets import OffsetTracker


def test_commits_only_the_contiguous_prefix() -> None:
    tracker = OffsetTracker()
    for offset in range(10, 15):
        tracker.track("t", 0, offset)
    tracker.complete("t", 0, 12)
    tracker.complete("t", 0, 11)
    assert tracker.take_commits() == {}
    tracker.complete("t", 0, 10)
    assert tracker.take_commits() == {("t", 0): 13}
    tracker.complete("t", 0, 14)
    assert tracker.take_commits() == {}
    tracker.complete("t", 0, 13)
    assert tracker.take_commits() == {("t", 0): 15}
    assert tracker.in_flight == 0


def test_gaps_in_offsets_commit_to_the_next_tracked_offset() -> None:
    tracker = OffsetTracker()
    for offset in (5, 9):
        tracker.track("t", 1, offset)
    tracker.complete("t", 1, 5)
    assert tracker.take_commits() == {("t", 1): 9}


@given(st.permutations(list(range(30))))
def test_any_completion_order_ends_at_the_end(order: list[int]) -> None:
    tracker = OffsetTracker()
    for offset in range(30):
        tracker.track("t", 0, offset)
    highest = 0
    done: set[int] = set()
    for offset in order:
        tracker.complete("t", 0, offset)
        done.add(offset)
        commits = tracker.take_commits()
        if commits:
            position = commits[("t", 0)]
            assert all(o in done for o in range(position))  # never past an unfinished offset
            highest = position
    assert highest == 30


@given(st.lists(st.booleans(), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_records_passed_at_once_commit_as_if_tracked_and_completed(needs_work: list[bool], rng: Any) -> None:
    tracker = OffsetTracker()
    working: list[int] = []
    done: set[int] = set()
    for offset, busy in enumerate(needs_work):
        if busy:
            tracker.track("t", 0, offset)
            working.append(offset)
        else:
            tracker.passed("t", 0, offset)
            done.add(offset)
        if working and rng.random() < 0.3:
            finished = working.pop(rng.randrange(len(working)))
            tracker.complete("t", 0, finished)
            done.add(finished)
        commits = tracker.take_commits()
        if commits:
            assert all(o in done for o in range(commits[("t", 0)]))  # never past an unfinished offset
    for offset in working:
        tracker.complete("t", 0, offset)
    tracker.take_commits()
    assert tracker.in_flight == 0
    tracker.passed("t", 0, len(needs_work))
    assert tracker.take_commits() == {("t", 0): len(needs_work) + 1}  # the end, nothing left behind
