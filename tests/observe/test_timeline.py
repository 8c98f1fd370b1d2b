"""Timeline labels and the message picker, on hand-made events (the live case is in
test_lifecycle)."""

from __future__ import annotations

from tutor.engine.observe.timeline import POINTERS, lifecycle, recent_messages
from tutor.engine.observe.trace import KINDS, TraceEvent
from tutor.engine.quiz.taxonomy import TAGS


def _ev(seq: int, kind: str, mid: str, queue: str = "q", rc: int | None = 0,
        other: str | None = None, at: float | None = None) -> TraceEvent:
    return TraceEvent(seq, 100.0 + seq if at is None else at, kind, "000000000000",
                      "us-east-1", queue, mid, rc, other)


def test_every_kind_has_a_pointer_and_tags_come_from_the_quiz_taxonomy() -> None:
    assert set(POINTERS) == set(KINDS)
    assert all(p.tag is None or p.tag in TAGS for p in POINTERS.values())
    assert all(p.text for p in POINTERS.values())


def test_redrive_to_another_queue_is_not_called_back_to_the_source() -> None:
    events = [_ev(1, "sent", "m", "dlq"), _ev(2, "redriven", "m", "dlq", 1, "archive")]
    steps = lifecycle(events, "m")
    assert steps[1].title == "redriven to archive"
    assert "back to the source" not in steps[1].pointer.text


def test_picker_lists_newest_first_with_state_and_queue() -> None:
    events = [_ev(1, "sent", "a"), _ev(2, "sent", "b"), _ev(3, "received", "a", rc=1),
              _ev(4, "moved_to_dlq", "b", rc=3, other="q-dlq"), _ev(5, "sent", "c", "other"),
              _ev(6, "deduplicated", "a")]
    got = [(m.message_id, m.queue, m.state, m.receive_count)
           for m in recent_messages(events, ["q", "q-dlq"])]
    assert got == [("b", "q-dlq", "in DLQ", 3), ("a", "q", "in flight", 1)]
    assert [m.message_id for m in recent_messages(events, None, limit=1)] == ["c"]
    assert lifecycle(events, "nope") == []
