"""The IAM policy evaluator on its own: IAM semantics, and audits that catch over-broad grants."""

from __future__ import annotations

import json

import pytest

from tutor.engine.policy import (
    Policy,
    PolicyError,
    Principal,
    Request,
    arn_like,
    audit,
    evaluate,
    source_probes,
)

ACCOUNT = "000000000000"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab08-billing"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:lab08-orders"
SNS = Principal.service("sns.amazonaws.com")


def _queue_policy(*statements: dict) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)},
                        attached_to=QUEUE, resource_policy=True)


GOOD = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": QUEUE,
        "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}


def _send(context: dict | None = None, principal: Principal = SNS,
          action: str = "sqs:SendMessage") -> Request:
    return Request(action, QUEUE, principal, context if context is not None else
                   {"aws:SourceArn": TOPIC})


def test_the_documented_statement_admits_the_topic_only() -> None:
    policy = _queue_policy(GOOD)
    assert policy.allows(_send())
    assert not policy.allows(_send({"aws:SourceArn": TOPIC + "-other"}))
    assert not policy.allows(_send({}))  # no source: a confused deputy
    assert not policy.allows(_send(principal=Principal.anonymous()))
    assert not policy.allows(_send(action="sqs:ReceiveMessage"))


@pytest.mark.parametrize("variant", [
    {"Action": "SQS:SendMessage"},  # action names are case-insensitive
    {"Action": ["sqs:sendmessage"]},
    {"Action": "sqs:Send*"},
    {"Condition": {"ArnEquals": {"AWS:SourceArn": TOPIC}}},  # condition keys too
    {"Condition": {"ArnLike": {"aws:sourcearn": TOPIC}}},
    {"Condition": {"StringEquals": {"aws:SourceArn": [TOPIC]}}},
    {"Condition": {"ArnEqualsIfExists": {"aws:SourceArn": TOPIC},
                   "Null": {"aws:SourceArn": "false"}}},
    {"Principal": "*"},  # anyone, but only on behalf of the topic
    {"Principal": {"AWS": "*"}},
    {"Resource": [QUEUE]},
    {"Resource": "arn:aws:sqs:*:*:lab08-billing"},
])
def test_valid_spellings_of_the_same_grant_pass(variant: dict) -> None:
    statement = {**GOOD, **variant}
    allow, deny = source_probes(QUEUE, "sqs:SendMessage", "sns.amazonaws.com", TOPIC,
                                ACCOUNT)
    report = audit([_queue_policy(statement)], allow, deny)
    assert report.ok, report.summary()


def test_missing_resource_means_the_resource_it_is_attached_to() -> None:
    statement = {k: v for k, v in GOOD.items() if k != "Resource"}
    assert _queue_policy(statement).allows(_send())


@pytest.mark.parametrize(("extra", "words"), [
    ({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE},
     "anyone"),
    ({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
      "Action": "sqs:*", "Resource": QUEUE, "Condition": GOOD["Condition"]}, "sqs:*"),
    ({"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sqs:SendMessage",
      "Resource": QUEUE}, "111122223333"),
])
def test_an_extra_statement_is_named(extra: dict, words: str) -> None:
    allow, deny = source_probes(QUEUE, "sqs:SendMessage", "sns.amazonaws.com", TOPIC,
                                ACCOUNT)
    report = audit([_queue_policy(GOOD, {**extra, "Sid": "Extra"})], allow, deny)
    assert not report.ok
    assert "statement 2" in report.summary() and 'Sid "Extra"' in report.summary()
    assert words in report.summary()


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:SourceAccount": ACCOUNT}},  # any topic of the account
    {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:lab08-*"}},  # other accounts' topics
    {"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:*:lab08-orders"}},
    {},
])
def test_conditions_that_admit_more_than_the_topic_fail(condition: dict) -> None:
    statement = {**GOOD, "Condition": condition} if condition else \
        {k: v for k, v in GOOD.items() if k != "Condition"}
    allow, deny = source_probes(QUEUE, "sqs:SendMessage", "sns.amazonaws.com", TOPIC,
                                ACCOUNT)
    report = audit([_queue_policy(statement)], allow, deny)
    assert not report.ok and not report.missing
    assert report.excess


def test_an_explicit_deny_wins() -> None:
    deny_all_but_topic = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                          "Resource": QUEUE,
                          "Condition": {"ArnNotEquals": {"aws:SourceArn": TOPIC}}}
    wide = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Resource": QUEUE}
    policy = _queue_policy(wide, deny_all_but_topic)
    assert policy.allows(_send())
    decision = policy.evaluate(_send({}))  # missing key: the negated operator holds
    assert decision.effect == "deny" and decision.statement is not None
    assert decision.statement.index == 2


def test_a_deny_can_hide_the_needed_grant() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    allow, must_deny = source_probes(QUEUE, "sqs:SendMessage", "sns.amazonaws.com", TOPIC,
                                     ACCOUNT)
    report = audit([_queue_policy(GOOD, deny)], allow, must_deny)
    assert report.missing and "statement 2 denies it" in report.summary()


def test_not_action_and_not_principal() -> None:
    policy = _queue_policy({"Effect": "Allow", "NotPrincipal": {"AWS": "111122223333"},
                            "NotAction": "sqs:Delete*", "Resource": QUEUE})
    assert policy.allows(_send({}))
    assert not policy.allows(_send({}, action="sqs:DeleteQueue"))
    assert not policy.allows(_send({}, principal=Principal.account("111122223333")))


def test_account_principal_forms() -> None:
    for value in ("111122223333", "arn:aws:iam::111122223333:root"):
        policy = _queue_policy({"Effect": "Allow", "Principal": {"AWS": value},
                                "Action": "sqs:SendMessage", "Resource": QUEUE})
        assert policy.allows(_send({}, principal=Principal.arn(
            "arn:aws:iam::111122223333:role/app")))
        assert not policy.allows(_send({}, principal=Principal.account("444455556666")))


def test_identity_policies_union_and_wildcard_resources() -> None:
    send = Policy.parse({"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage",
                                       "Resource": "arn:aws:sqs:*:*:lab10-tasks"}})
    star = Policy.parse({"Statement": [{"Effect": "Allow", "Action": "sqs:*",
                                        "Resource": "*"}]})
    task = Request("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab10-tasks")
    other = Request("sqs:DeleteQueue", f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab10-tasks")
    assert evaluate([send], task).allowed and not evaluate([send], other).allowed
    assert evaluate([send, star], other).allowed


def test_numeric_date_bool_ip_and_set_operators() -> None:
    def holds(condition: dict, context: dict) -> bool:
        policy = Policy.parse({"Statement": {"Effect": "Allow", "Action": "*",
                                             "Resource": "*", "Condition": condition}})
        return policy.allows(Request("s3:GetObject", "arn:aws:s3:::b/k", None, context))

    assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 5})
    assert not holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 50})
    assert holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True})
    assert holds({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
                 {"aws:CurrentTime": "2026-12-01T00:00:00Z"})
    assert holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"})
    assert not holds({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                     {"aws:SourceIp": "10.1.2.3"})
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
                 {"aws:TagKeys": ["a"]})
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}},
                     {"aws:TagKeys": ["a", "c"]})
    assert holds({"ForAnyValue:StringLike": {"aws:TagKeys": "c*"}}, {"aws:TagKeys": ["a", "cx"]})
    assert holds({"StringLikeIfExists": {"s3:prefix": "home/*"}}, {})
    assert holds({"Null": {"aws:SourceArn": "true"}}, {})


@pytest.mark.parametrize(("document", "words"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"Version": "2012-10-17"}), "no Statement"),
    (json.dumps({"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}),
     "Effect"),
    (json.dumps({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "Action"),
    (json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {"StringSorta": {"k": "v"}}}]}), "StringSorta"),
])
def test_unreadable_documents_say_why(document: str, words: str) -> None:
    with pytest.raises(PolicyError, match=words):
        Policy.parse(document)


def test_resource_policy_statement_needs_a_principal() -> None:
    with pytest.raises(PolicyError, match="Principal"):
        _queue_policy({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE})


def test_arn_like_matches_part_by_part() -> None:
    assert arn_like("arn:aws:sqs:*:*:lab08-*", QUEUE)
    assert not arn_like("arn:aws:sqs:*:*:lab08-*", TOPIC)
    assert arn_like("*", TOPIC)
    assert not arn_like("arn:aws:sqs:us-east-1:*:lab08-billing", QUEUE + "x")
