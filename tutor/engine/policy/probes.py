"""Probes: the requests that tell "exactly" from "too wide" for a service acting on behalf
of a source (confused deputy, another account, an over-broad grant)."""

from __future__ import annotations

from collections.abc import Sequence

from tutor.engine.policy.principals import ContextValue, Principal, Request

# --- probes: the requests that tell "exactly" from "too wide" ---------------------------

# Queue actions that a publishing service never needs; granting any of them to it, or any
# action to someone else, is wider than "let this topic/bucket/rule send here".
SQS_OTHER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue",
                     "sqs:SetQueueAttributes", "sqs:DeleteQueue", "sqs:ChangeMessageVisibility",
                     "sqs:AddPermission")
OTHER_ACCOUNT = "111122223333"


def _sibling_arn(arn: str, suffix: str = "-other") -> str:
    return arn + suffix


def _in_account(arn: str, account: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) == 6:
        parts[4] = account
    return ":".join(parts)


def source_probes(resource: str, action: str, service: str, source_arn: str,
                  account: str, *, source_account_key: bool = True,
                  other_actions: Sequence[str] = SQS_OTHER_ACTIONS
                  ) -> tuple[list[Request], list[Request]]:
    """(must_allow, must_deny) for "only `service` on behalf of `source_arn` may `action`
    on `resource`": the service from the right source; and everything a confused deputy,
    another account or an over-broad grant would let through."""
    context: dict[str, ContextValue] = {"aws:SourceArn": source_arn}
    if source_account_key:
        context["aws:SourceAccount"] = account
    srv = Principal.service(service)
    allow = [Request(action, resource, srv, context,
                     label=f"{service} to {action.split(':')[-1]} on behalf of {source_arn}")]
    other_source = _sibling_arn(source_arn)
    foreign_source = _in_account(source_arn, OTHER_ACCOUNT)
    deny = [
        Request(action, resource, srv, {"aws:SourceArn": other_source,
                                        "aws:SourceAccount": account},
                label=f"{service} on behalf of another resource of your account "
                      f"({other_source.rsplit(':', 1)[-1]})"),
        Request(action, resource, srv, {"aws:SourceArn": foreign_source,
                                        "aws:SourceAccount": OTHER_ACCOUNT},
                label=f"{service} on behalf of a resource with the same name in another "
                      f"account ({OTHER_ACCOUNT})"),
        Request(action, resource, srv, {},
                label=f"{service} with no source at all (any of its customers)"),
        Request(action, resource, Principal.anonymous(), {},
                label=f"anyone, anonymously, to {action.split(':')[-1]}"),
        Request(action, resource, Principal.account(OTHER_ACCOUNT), {},
                label=f"another AWS account ({OTHER_ACCOUNT}) to {action.split(':')[-1]}"),
    ]
    deny += [Request(other, resource, srv, context,
                     label=f"{service} to {other.split(':')[-1]} (only "
                           f"{action.split(':')[-1]} was asked for)")
             for other in other_actions]
    return allow, deny
