"""The ring buffer alone: bounded, contiguous, filtered, and honest about what it lost."""

from __future__ import annotations

from tutor.cloud.sqs_trace import Recorder


def _fill(rec: Recorder, n: int, queue: str = "q", other: str | None = None) -> None:
    for i in range(n):
        rec.add("sent", "000000000000", "us-east-1", queue, f"m{i}", 0, other)


def test_ring_buffer_keeps_only_the_newest_and_counts_the_dropped() -> None:
    rec = Recorder(capacity=5)
    _fill(rec, 12)
    got = rec.query(0)
    assert [e["seq"] for e in got["events"]] == [8, 9, 10, 11, 12]
    assert got["dropped"] == 7 and got["next"] == 12 and got["capacity"] == 5
    later = rec.query(9)
    assert [e["seq"] for e in later["events"]] == [10, 11, 12] and later["dropped"] == 0
    assert rec.query(12) == {**rec.query(12), "events": [], "next": 12, "dropped": 0}


def test_limit_pages_through_without_gaps() -> None:
    rec = Recorder(capacity=100)
    _fill(rec, 10)
    seen: list[int] = []
    since = 0
    for _ in range(10):
        page = rec.query(since, limit=3)
        seen += [e["seq"] for e in page["events"]]
        if page["next"] == since:
            break
        since = page["next"]
    assert seen == list(range(1, 11))


def test_filters_match_account_and_either_queue_of_a_move() -> None:
    rec = Recorder(capacity=100)
    _fill(rec, 2, "a")
    _fill(rec, 1, "b", other="dlq")
    rec.add("sent", "111111111111", "us-east-1", "a", "x", 0, None)
    assert len(rec.query(0, queue="a")["events"]) == 3
    assert [e["queue"] for e in rec.query(0, queue="dlq")["events"]] == ["b"]
    assert [e["message_id"] for e in rec.query(0, account="111111111111")["events"]] == ["x"]
    # filtered pages still advance to the newest seq, so a poller does not rescan
    assert rec.query(0, queue="nothing")["next"] == 4
