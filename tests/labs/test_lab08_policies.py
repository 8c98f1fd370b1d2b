"""Lab 08's queue-policy reading: only a topic-scoped statement earns full credit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tutor.engine.labs.loader import load_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "08-fan-in-fan-out"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:lab08-billing"
TOPIC = "arn:aws:sns:us-east-1:000000000000:lab08-orders"


def _score(statement: dict | list | None) -> tuple[float, str]:
    module = sys.modules[load_lab(LAB).checks["topic_only_policies"].fn.__module__]
    policy = None if statement is None else json.dumps(
        {"Version": "2012-10-17", "Statement": statement})
    return module._policy_allows_only(policy, QUEUE, "sns.amazonaws.com", TOPIC)


def _statement(**changes: object) -> dict:
    base: dict = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                  "Action": "sqs:SendMessage", "Resource": QUEUE,
                  "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_topic_scoped_statement_passes() -> None:
    assert _score([_statement()])[0] == 1.0


def test_no_policy_scores_nothing() -> None:
    assert _score(None) == (0.0, "no policy")


def test_any_topic_is_not_enough() -> None:
    score, finding = _score([_statement(Condition=None)])
    assert score == 0.5
    assert "ANY source" in finding


def test_everyone_without_condition_scores_nothing() -> None:
    score, finding = _score([_statement(), _statement(Principal="*", Condition=None)])
    assert score == 0.0
    assert "everyone" in finding


def test_another_topic_is_wrong() -> None:
    other = {"ArnEquals": {"aws:SourceArn": TOPIC.replace("orders", "payments")}}
    score, finding = _score([_statement(Condition=other)])
    assert score == 0.5
    assert "payments" in finding


def test_wrong_principal_is_not_enough() -> None:
    score, _ = _score([_statement(Principal={"Service": "events.amazonaws.com"})])
    assert score == 0.25
