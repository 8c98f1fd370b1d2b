"""The live queue dashboard in the lab screen, through the pilot, against the real LocalStack."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Label, Sparkline

from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.locations import PROJECT_ROOT
from tutor.ui.app import make_app
from tutor.ui.screens.lab import LabScreen
from tutor.ui.widgets.queue_dashboard import ChaosChooser, QueueDashboard

from .helpers import FIXTURES, home_ready, notes, open_lab, until


@pytest.fixture
def lab_copies(tmp_path: Path) -> Path:
    """Copies of the real labs 02 (write buffering) and 04 (DLQ)."""
    root = tmp_path / "labs"
    for lab in ("02-write-buffering", "04-retry-dlq"):
        shutil.copytree(PROJECT_ROOT / "labs" / lab, root / lab,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _fresh_queue(endpoint: Endpoint, name: str) -> str:
    sqs = client("sqs", endpoint)
    try:
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except Exception:  # not there: fine
        pass
    return str(sqs.create_queue(QueueName=name)["QueueUrl"])


def figure(dashboard: QueueDashboard, queue: str, series: str) -> str:
    return str(dashboard.rows[queue].query_one(f"#n-{series}", Label).render())


def dashboard_workers(screen: LabScreen) -> list[object]:
    return [w for w in screen.workers if w.group == "dashboard" and not w.is_finished]


@pytest.mark.localstack
async def test_dashboard_shows_live_depths_and_a_burst_raises_them(
        lab_copies: Path, localstack: Endpoint, tutor_home: Path) -> None:
    url = _fresh_queue(localstack, "lab02-logins")
    app = make_app(labs_dir=lab_copies, quizzes_dir=FIXTURES / "quizzes", endpoint=localstack.url)
    async with app.run_test(size=(80, 24)) as pilot:  # the compact layout
        screen = await open_lab(app, pilot, "02-write-buffering", ready=True)
        dashboard = screen.query_one(QueueDashboard)
        assert not dashboard.display and not dashboard_workers(screen)
        assert screen.check_action("chaos", ("burst",)) is False  # only with the dashboard
        await pilot.press("d")
        await until(lambda: "lab02-logins" in dashboard.rows and
                    figure(dashboard, "lab02-logins", "visible") == "vis 0", pilot)
        assert dashboard.display and dashboard.region.height >= 5
        gauges = [str(label.render()) for label in dashboard.query(".gauge-text")]
        assert any("no logins.db yet" in g for g in gauges)  # lab 02's DB rows/s gauge
        assert any("0 running" in g for g in gauges)  # ... and its writer count
        assert screen.check_action("chaos", ("burst",)) is True
        assert screen.check_action("chaos", ("poison",)) is False  # lab 02 has none

        await pilot.press("u")  # the lab's 9:00 login burst: 1,500 messages
        await until(lambda: figure(dashboard, "lab02-logins", "visible") == "vis 1,500",
                    pilot, seconds=60)
        spark = dashboard.rows["lab02-logins"].query_one("#s-visible", Sparkline)
        assert spark.data is not None and max(spark.data) == 1500 and min(spark.data) == 0
        await until(lambda: any("Burst: 1500 messages to lab02-logins" in n
                                for n in notes(app)), pilot)
        depth = client("sqs", localstack).get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
        assert depth == "1500"  # what the dashboard shows is the queue

        await pilot.press("d")  # hidden: sampling stops
        await until(lambda: not dashboard_workers(screen), pilot)
        assert not dashboard.display
        await pilot.press("d")
        await until(lambda: dashboard_workers(screen), pilot)
        pressed = time.monotonic()
        await pilot.press("q")  # quitting does not wait for a sample
    assert time.monotonic() - pressed < 2.0
    client("sqs", localstack).delete_queue(QueueUrl=url)


@pytest.mark.localstack
async def test_poison_from_the_chooser_shows_the_dlq(lab_copies: Path, localstack: Endpoint,
                                                     tutor_home: Path) -> None:
    import json

    dlq = _fresh_queue(localstack, "lab04-orders-dlq")
    sqs = client("sqs", localstack)
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    source = _fresh_queue(localstack, "lab04-orders")
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": 3})})
    app = make_app(labs_dir=lab_copies, quizzes_dir=FIXTURES / "quizzes", endpoint=localstack.url)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(app, pilot, "04-retry-dlq", ready=True)
        await pilot.press("d")
        dashboard = screen.query_one(QueueDashboard)
        await until(lambda: {"lab04-orders", "lab04-orders-dlq"} <= set(dashboard.rows),
                    pilot)
        assert dashboard.rows["lab04-orders-dlq"].has_class("-dlq")
        assert not dashboard.rows["lab04-orders"].has_class("-dlq")
        await pilot.press("p")  # lab 04 has one poison action: sent at once
        await until(lambda: figure(dashboard, "lab04-orders", "visible") == "vis 1", pilot)
        assert any("Poison message" in n for n in notes(app))
        await pilot.press("k")  # no worker.py runs: said in one line, nothing stopped
        await until(lambda: any("No `worker.py` is running" in n for n in notes(app)), pilot)
        # lab 04 has a single burst too; a chooser appears only for several of a kind
        screen.lab.spec.chaos.append(screen.lab.spec.chaos[1].model_copy(  # type: ignore[union-attr]
            update={"id": "order-rush-2", "label": "Another 20 orders"}))
        spark = dashboard.rows["lab04-orders"].query_one("#s-visible", Sparkline)
        before = list(spark.data or [])
        await pilot.press("u")
        await until(lambda: isinstance(app.screen, ChaosChooser), pilot)
        await pilot.press("down", "enter")
        await until(lambda: figure(dashboard, "lab04-orders", "visible") == "vis 21", pilot)
        after = list(spark.data or [])
        assert after[:len(before)] == before and after[-1] == 21  # history kept over the dialog
        timeline = pytest.importorskip("tutor.ui.screens.timeline")  # helper H1's screen
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, timeline.TimelineScreen), pilot)
        assert app.screen.queues == ["lab04-orders", "lab04-orders-dlq"]
        await pilot.press("escape")
        await until(lambda: app.screen is screen, pilot)
        assert [w for w in screen.workers if w.group == "dashboard" and w.is_running]
    for url in (source, dlq):
        sqs.delete_queue(QueueUrl=url)


async def test_dashboard_says_when_localstack_is_not_there(lab_copies: Path,
                                                           tutor_home: Path) -> None:
    app = make_app(labs_dir=lab_copies, quizzes_dir=FIXTURES / "quizzes",
                   endpoint="http://127.0.0.1:9")  # nothing listens on port 9
    async with app.run_test(size=(80, 24)) as pilot:
        await home_ready(app, pilot)
        table = app.screen.query_one("#labs", DataTable)
        table.move_cursor(row=table.get_row_index("02-write-buffering"))
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, LabScreen) and app.screen.lab is not None,
                    pilot)
        await pilot.press("d")
        head = app.screen.query_one("#dash-head")
        await until(lambda: "not ready" in str(head.render()) or
                    "not reachable" in str(head.render()), pilot)
        assert "last figures: none yet" in str(head.render())
        assert head.has_class("-stale")
