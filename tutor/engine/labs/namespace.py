"""A lab's cloud resources, found by its name prefix across services, and deleted on reset."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor.cloud.endpoint import Endpoint
from tutor.errors import TutorError, from_boto

if TYPE_CHECKING:
    from tutor.engine.labs.loader import Lab

MAX_PAGES = 50  # bounded listing: 50 pages is far beyond any lab


def _pages(call: Callable[..., dict[str, Any]], token_in: str, token_out: str,
           **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = call(**kwargs, **({token_in: token} if token else {}))
        yield page
        token = page.get(token_out)
        if not token:
            return


@dataclass
class Namespace:
    """Everything in LocalStack named with one lab's prefix."""

    prefix: str
    endpoint: Endpoint
    errors: list[str] = field(default_factory=list)
    # Look for Kinesis streams too: the first Kinesis call in an account starts a
    # kinesis-mock process for it (about 110 MB), so only for labs that use Kinesis.
    streams: bool = True

    @classmethod
    def of(cls, lab: Lab, endpoint: Endpoint) -> Namespace:
        """The namespace of `lab` in `endpoint`'s account."""
        uses = "kinesis" in lab.spec.requires or any(
            "kinesis" in step.requires for step in lab.spec.steps)
        return cls(lab.prefix, endpoint, streams=uses)

    def _client(self, service: str) -> Any:
        from tutor.cloud.clients import client

        return client(service, self.endpoint, read_timeout=10.0, max_attempts=2)

    def _mine(self, name: str) -> bool:
        return name.startswith(self.prefix)

    # --- listing ---------------------------------------------------------------------

    def resources(self) -> dict[str, list[str]]:
        """Every prefixed resource, per service (an empty dict when nothing is left).

        The services are listed at once (a dozen listings, each a round trip or a few):
        on a busy machine one after the other took most of a lab reset."""
        from concurrent.futures import ThreadPoolExecutor

        listers = self._listers()

        def listing(lister: Callable[[], list[str]]) -> list[str] | Exception:
            try:
                return lister()
            except Exception as exc:
                return exc

        with ThreadPoolExecutor(max_workers=6, thread_name_prefix="tutor-ns") as pool:
            answers = dict(zip(listers, pool.map(listing, listers.values()), strict=True))
        found: dict[str, list[str]] = {}
        for service, names in answers.items():
            if isinstance(names, Exception):
                self._raise_if_unreachable(names)
                self.errors.append(f"listing {service}: {from_boto(names).message}")
                continue
            if names:
                found[service] = names
        return found

    def _listers(self) -> dict[str, Callable[[], list[str]]]:
        return {"sqs": self._queues, "sns": self._topics, "s3": self._buckets,
                "esm": self._mappings, "lambda": self._functions, "events": self._rules,
                "cloudwatch": self._alarms, "logs": self._log_groups,
                "stepfunctions": self._state_machines, "iam": self._roles,
                "iam-policy": self._policies, "iam-user": self._users,
                "kinesis": self._streams}

    def _queues(self) -> list[str]:
        sqs = self._client("sqs")
        urls: list[str] = []
        for page in _pages(sqs.list_queues, "NextToken", "NextToken",
                           QueueNamePrefix=self.prefix, MaxResults=1000):
            urls.extend(page.get("QueueUrls", []))
        return urls

    def _topics(self) -> list[str]:
        sns = self._client("sns")
        arns: list[str] = []
        for page in _pages(sns.list_topics, "NextToken", "NextToken"):
            arns.extend(t["TopicArn"] for t in page.get("Topics", [])
                        if self._mine(t["TopicArn"].rsplit(":", 1)[-1]))
        return arns

    def _buckets(self) -> list[str]:
        return [b["Name"] for b in self._client("s3").list_buckets().get("Buckets", [])
                if self._mine(b["Name"])]

    def _functions(self) -> list[str]:
        lam = self._client("lambda")
        names: list[str] = []
        for page in _pages(lam.list_functions, "Marker", "NextMarker"):
            names.extend(f["FunctionName"] for f in page.get("Functions", [])
                         if self._mine(f["FunctionName"]))
        return names

    def _mappings(self) -> list[str]:
        """Event source mappings on a prefixed function or queue. LocalStack keeps a
        mapping (Enabled, still polling) after its function is deleted, so they are
        found on their own, not through the functions."""
        lam = self._client("lambda")
        uuids: list[str] = []
        for page in _pages(lam.list_event_source_mappings, "Marker", "NextMarker"):
            for mapping in page.get("EventSourceMappings", []):
                names = (str(mapping.get(key, "")).rsplit(":", 1)[-1]
                         for key in ("FunctionArn", "EventSourceArn"))
                if mapping.get("State") != "Deleting" and any(map(self._mine, names)):
                    uuids.append(str(mapping["UUID"]))
        return uuids

    def _rules(self) -> list[str]:
        events = self._client("events")
        found: list[str] = []
        buses = ["default"] + [b["Name"] for b in events.list_event_buses().get("EventBuses", [])
                               if self._mine(b["Name"])]
        for bus in buses:
            for page in _pages(events.list_rules, "NextToken", "NextToken",
                               NamePrefix=self.prefix, EventBusName=bus):
                found.extend(f"{bus}/{r['Name']}" for r in page.get("Rules", []))
            if bus != "default":
                found.append(f"bus:{bus}")
        return found

    def _alarms(self) -> list[str]:
        cw = self._client("cloudwatch")
        names: list[str] = []
        for page in _pages(cw.describe_alarms, "NextToken", "NextToken",
                           AlarmNamePrefix=self.prefix):
            names.extend(a["AlarmName"] for a in page.get("MetricAlarms", []))
            names.extend(a["AlarmName"] for a in page.get("CompositeAlarms", []))
        return names

    def _log_groups(self) -> list[str]:
        logs = self._client("logs")
        names: list[str] = []
        for prefix in (self.prefix, f"/aws/lambda/{self.prefix}",
                       f"/aws/vendedlogs/states/{self.prefix}"):
            for page in _pages(logs.describe_log_groups, "nextToken", "nextToken",
                               logGroupNamePrefix=prefix):
                names.extend(g["logGroupName"] for g in page.get("logGroups", []))
        return names

    def _state_machines(self) -> list[str]:
        sfn = self._client("stepfunctions")
        arns: list[str] = []
        for page in _pages(sfn.list_state_machines, "nextToken", "nextToken"):
            arns.extend(m["stateMachineArn"] for m in page.get("stateMachines", [])
                        if self._mine(m["name"]))
        return arns

    def _roles(self) -> list[str]:
        iam = self._client("iam")
        names: list[str] = []
        for page in _pages(iam.list_roles, "Marker", "Marker"):
            names.extend(r["RoleName"] for r in page.get("Roles", [])
                         if self._mine(r["RoleName"]))
            if not page.get("IsTruncated"):
                break
        return names

    def _streams(self) -> list[str]:
        """Kinesis streams named with the prefix (none when this LocalStack has no
        Kinesis: a refused listing is not a leftover)."""
        from tutor.cloud.health import probe

        if not self.streams:
            return []
        if probe(self.endpoint.url, timeout=3.0).services.get("kinesis") not in (
                "available", "running"):
            return []
        kinesis = self._client("kinesis")
        names: list[str] = []
        for page in _pages(kinesis.list_streams, "ExclusiveStartStreamName",
                           "_no_token_", Limit=100):
            names.extend(n for n in page.get("StreamNames", []) if self._mine(n))
            if not page.get("HasMoreStreams"):
                break
        return names

    def _policies(self) -> list[str]:
        """Customer-managed policies named with the prefix (ARNs)."""
        iam = self._client("iam")
        arns: list[str] = []
        for page in _pages(iam.list_policies, "Marker", "Marker", Scope="Local"):
            arns.extend(p["Arn"] for p in page.get("Policies", [])
                        if self._mine(p["PolicyName"]))
            if not page.get("IsTruncated"):
                break
        return arns

    def _users(self) -> list[str]:
        iam = self._client("iam")
        names: list[str] = []
        for page in _pages(iam.list_users, "Marker", "Marker"):
            names.extend(u["UserName"] for u in page.get("Users", [])
                         if self._mine(u["UserName"]))
            if not page.get("IsTruncated"):
                break
        return names

    # --- deleting --------------------------------------------------------------------

    def delete(self) -> dict[str, list[str]]:
        """Delete every prefixed resource; returns what was deleted, per service."""
        found = self.resources()
        order = ("esm", "lambda", "events", "stepfunctions", "sns", "sqs", "kinesis", "s3",
                 "cloudwatch", "logs", "iam", "iam-user", "iam-policy")  # consumers first
        deleted: dict[str, list[str]] = {}
        for service in order:
            for name in found.get(service, []):
                try:
                    getattr(self, f"_delete_{service.replace('-', '_')}")(name)
                except Exception as exc:
                    self._raise_if_unreachable(exc)
                    self.errors.append(f"deleting {service} {name}: {from_boto(exc).message}")
                    continue
                deleted.setdefault(service, []).append(name)
        return deleted

    def _delete_sqs(self, url: str) -> None:
        self._client("sqs").delete_queue(QueueUrl=url)

    def _delete_sns(self, arn: str) -> None:
        sns = self._client("sns")
        for page in _pages(sns.list_subscriptions_by_topic, "NextToken", "NextToken",
                           TopicArn=arn):
            for sub in page.get("Subscriptions", []):
                if sub["SubscriptionArn"].startswith("arn:"):
                    with contextlib.suppress(Exception):
                        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        sns.delete_topic(TopicArn=arn)

    def _delete_s3(self, bucket: str) -> None:
        s3 = self._client("s3")
        for page in _pages(s3.list_object_versions, "KeyMarker", "NextKeyMarker",
                           Bucket=bucket):
            objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                       for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        for page in _pages(s3.list_objects_v2, "ContinuationToken", "NextContinuationToken",
                           Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=bucket)

    def _delete_esm(self, uuid: str) -> None:
        self._client("lambda").delete_event_source_mapping(UUID=uuid)

    def _delete_lambda(self, name: str) -> None:
        lam = self._client("lambda")
        for page in _pages(lam.list_event_source_mappings, "Marker", "NextMarker",
                           FunctionName=name):
            for mapping in page.get("EventSourceMappings", []):
                with contextlib.suppress(Exception):
                    lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_function(FunctionName=name)

    def _delete_events(self, name: str) -> None:
        events = self._client("events")
        if name.startswith("bus:"):
            events.delete_event_bus(Name=name[4:])
            return
        bus, rule = name.split("/", 1)
        targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus).get("Targets", [])
        if targets:
            events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets],
                                  Force=True)
        events.delete_rule(Name=rule, EventBusName=bus, Force=True)

    def _delete_cloudwatch(self, name: str) -> None:
        self._client("cloudwatch").delete_alarms(AlarmNames=[name])

    def _delete_logs(self, name: str) -> None:
        self._client("logs").delete_log_group(logGroupName=name)

    def _delete_stepfunctions(self, arn: str) -> None:
        self._client("stepfunctions").delete_state_machine(stateMachineArn=arn)

    def _delete_iam(self, role: str) -> None:
        iam = self._client("iam")
        for policy in iam.list_attached_role_policies(RoleName=role).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
        for policy in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=role, PolicyName=policy)
        iam.delete_role(RoleName=role)

    def _delete_kinesis(self, stream: str) -> None:
        kinesis = self._client("kinesis")
        for consumer in kinesis.list_stream_consumers(
                StreamARN=kinesis.describe_stream_summary(StreamName=stream)[
                    "StreamDescriptionSummary"]["StreamARN"]).get("Consumers", []):
            with contextlib.suppress(Exception):
                kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
        kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
        # A stream is DELETING for a while (kinesis-mock: about half a second) and still
        # listed: wait until it is gone, or a reset would report it as left behind.
        kinesis.get_waiter("stream_not_exists").wait(
            StreamName=stream, WaiterConfig={"Delay": 0.25, "MaxAttempts": 80})

    def _delete_iam_user(self, user: str) -> None:
        iam = self._client("iam")
        for policy in iam.list_attached_user_policies(UserName=user).get("AttachedPolicies", []):
            iam.detach_user_policy(UserName=user, PolicyArn=policy["PolicyArn"])
        for policy in iam.list_user_policies(UserName=user).get("PolicyNames", []):
            iam.delete_user_policy(UserName=user, PolicyName=policy)
        for key in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=user)

    def _delete_iam_policy(self, arn: str) -> None:
        """Detach it from every role, user and group (any name), drop old versions, delete."""
        iam = self._client("iam")
        found = iam.list_entities_for_policy(PolicyArn=arn)
        for role in found.get("PolicyRoles", []):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
        for user in found.get("PolicyUsers", []):
            iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
        for group in found.get("PolicyGroups", []):
            iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
        for version in iam.list_policy_versions(PolicyArn=arn).get("Versions", []):
            if not version.get("IsDefaultVersion"):
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)

    def _raise_if_unreachable(self, exc: Exception) -> None:
        error = from_boto(exc, self.endpoint.url)
        if error.title == "LocalStack unreachable":
            raise error from None
        if isinstance(exc, TutorError):
            raise exc
