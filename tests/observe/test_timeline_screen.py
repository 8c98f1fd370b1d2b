"""The Message timeline screen through the pilot, at 80x24, against the real LocalStack."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe.trace import NOT_AVAILABLE
from tutor.ui.app import make_app
from tutor.ui.screens.timeline import TimelineScreen

from .helpers import unique, without_trace

SIZE = (80, 24)


async def until(predicate: Callable[[], object], pilot: Pilot[None], seconds: float = 20) -> None:
    for _ in range(int(seconds * 10)):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(0.1)
    raise AssertionError(f"condition not reached within {seconds} s")


def text_of(screen: TimelineScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).content
    return str(getattr(content, "plain", content))


def detail_text(screen: TimelineScreen) -> str:
    """The timeline pane as the learner sees it (the rich table rendered to text)."""
    group = screen.query_one("#timeline-steps", Static).content
    parts = getattr(group, "renderables", [group])
    plain = [str(getattr(getattr(p, "renderable", p), "plain", p)) for p in parts]
    return " ".join(" ".join(plain).split())


@pytest.mark.localstack
async def test_pick_a_message_and_follow_its_life(localstack: Endpoint) -> None:
    sqs = client("sqs", localstack)
    name = unique("obs-ui")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="one")["MessageId"]
    got = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])

    app = make_app(connect=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(TimelineScreen(localstack, [name]))
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        table = screen.query_one("#timeline-messages", DataTable)
        await until(lambda: table.row_count == 1, pilot)
        assert screen.selected == first
        text = detail_text(screen)
        assert "received #1" in text and "only DeleteMessage ends" in text
        assert "1 messages · observed" in text_of(screen, "#timeline-status")

        # a new message shows up on its own (auto-refresh), newest first
        second = sqs.send_message(QueueUrl=url, MessageBody="two")["MessageId"]
        await until(lambda: table.row_count == 2, pilot)
        assert table.get_row_at(0)[0] == second[:8]
        assert screen.selected == first  # the learner's choice survives a refresh
        await pilot.press("up")
        await until(lambda: screen.selected == second, pilot)
        assert "sent" in detail_text(screen)
        assert "only DeleteMessage" not in detail_text(screen)

        await pilot.press("p")
        assert "paused" in text_of(screen, "#timeline-status")
        before = screen.refreshes
        await pilot.pause(2.5)
        assert screen.refreshes == before  # paused: no polling
        await pilot.press("p")
        await until(lambda: screen.refreshes > before, pilot)

        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, TimelineScreen), pilot)


async def test_a_localstack_without_the_trace_says_so() -> None:
    with without_trace() as url:
        app = make_app(connect=False)
        async with app.run_test(size=SIZE) as pilot:
            screen = TimelineScreen(url, ["q"])
            await app.push_screen(screen)
            await until(lambda: screen.refreshes > 0, pilot)
            assert NOT_AVAILABLE in text_of(screen, "#timeline-status")
            assert NOT_AVAILABLE in detail_text(screen)
            assert screen.query_one("#timeline-status").has_class("-off")
