"""`CheckContext`: what a check or a scenario receives (clients, names, bounded waits)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.engine.labs.deadline import Budget, Deadline
from tutor.engine.labs.program import Program
from tutor.engine.labs.scenario import ScenarioFailed

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.clock import LabClock
    from tutor.engine.labs.faults import LambdaFaults
    from tutor.engine.labs.scenario import ScenarioRunner
    from tutor.engine.policy import Policy

# ctx.wait_progressing: how long without progress past its budget is a stall.
PROGRESS_GRACE = 8.0
# ctx.wait_started: the longest a program may take to start (first AWS call).
STARTUP_MOST = 45.0
# A latency budget for an idle machine, plus this many times the tutor's own round trip to
# LocalStack measured in the same run (CheckContext.api_rtt): a request that sends one
# message costs about one round trip and the HTTP around it.
LATENCY_LOAD_FACTOR = 3.0
# ctx.timed_rounds: rounds of timed answers, at most, before a slow p95 counts.
LATENCY_ROUNDS = 3


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile (0 < q <= 1) of `values`; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(q * len(ordered))) - 1)]


@dataclass
class CheckContext:
    """What a check or a scenario receives."""

    lab_id: str
    prefix: str  # e.g. "lab04-": every resource of the lab starts with it
    endpoint: Endpoint  # its `account` is the learner's: every client acts in it
    workspace: Path  # the learner's copy of starter/
    clock: LabClock
    runner: ScenarioRunner  # runs learner programs, drives load, measures
    params: dict[str, Any] = field(default_factory=dict)  # the check's `params:` from lab.yaml
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # scenario results
    started_at: float = 0.0  # wall-clock start of this check run: count only what follows
    deadline: Deadline | None = None  # the running scenario's time limit
    budgets: list[Budget] = field(default_factory=list)

    def budget(self, seconds: float, because: str, *, most: float = 120.0) -> float:
        """A wait sized from the learner's own configuration, bounded by `most`.

        `ctx.budget(receives * (visibility + 1.5) + 8, f"maxReceiveCount {receives} x "
        f"visibility timeout {visibility} s")`: the scenario's time limit grows to fit it,
        and `ctx.budgets` keeps why, for the message if the wait runs out.
        """
        granted = max(0.0, min(seconds, most))
        self.budgets.append(Budget(granted, because, capped=seconds > most))
        if self.deadline is not None:
            self.deadline.extend_to(time.monotonic() + granted + 10.0)
            granted = min(granted, max(0.0, self.deadline.left() - 5.0))
        return granted

    def wait_progressing(self, condition: Callable[[], bool], seconds: float,
                         progress: Callable[[], object], *, what: str,
                         grace: float = PROGRESS_GRACE, most: float = 150.0,
                         interval: float = 0.4,
                         programs: Sequence[Program] = ()) -> bool:
        """Poll `condition` for `seconds` (a `ctx.budget`); past them, go on waiting while
        `progress()` (a fingerprint: rows committed, checkpoints) changed in the last
        `grace` s, up to `most` s in all.

        A budget is sized from the learner's configuration for an idle machine; a right
        program that is still working on a loaded one must not be judged mid-way, while a
        program that stopped making progress is judged when its budget ends, as before.
        One of `programs` that is `starting` (a restart still in Python's start-up) counts
        as progress: a supervised restart is part of the work, however slow. The extra
        wait is kept in `ctx.budgets`, so the message says how long the tutor waited and
        why."""
        began = time.monotonic()
        if self.runner.wait_until(condition, timeout=seconds, interval=interval):
            return True
        last, changed = progress(), time.monotonic()
        cap = began + max(seconds, most)
        if self.deadline is not None:
            cap = min(cap, self.deadline.limit - 5.0)
        extended = time.monotonic()
        while time.monotonic() - changed < grace and time.monotonic() < cap:
            if self.deadline is not None:
                self.deadline.extend_to(time.monotonic() + grace + 10.0)
            if condition():
                break
            time.sleep(interval)
            now = progress()
            if now != last or any(p.starting for p in programs):
                last, changed = now, time.monotonic()
        extra = time.monotonic() - extended
        if extra >= 1.0:
            self.budgets.append(Budget(extra, f"{what} still progressing on a busy machine",
                                       capped=time.monotonic() >= cap))
        return bool(condition())

    def wait_started(self, programs: Sequence[Program], *,
                     most: float = STARTUP_MOST) -> float:
        """Wait until each of `programs` made its first AWS call or exited (Python's
        start-up and boto3's import are behind it), up to `most` s, the scenario's time
        limit growing meanwhile; the seconds it took (at least 0.5), which budgets use as
        this machine's price of one start. A fixed wait here would send work to a program
        that is not running yet, and judge it for what the machine did."""
        began = time.monotonic()
        while any(p.starting for p in programs) and time.monotonic() - began < most:
            if self.deadline is not None:
                self.deadline.extend_to(time.monotonic() + 15.0)
            time.sleep(0.2)
        return max(0.5, time.monotonic() - began)

    def budget_note(self) -> str:
        """`; the tutor waited 38 s, from maxReceiveCount 5 x ...` (or "")."""
        if not self.budgets:
            return ""
        return "; the tutor waited " + ", then ".join(b.explain() for b in self.budgets)

    def client(self, service: str) -> Any:
        """A boto3 client bound to the lab's endpoint (the only way checks reach AWS)."""
        from tutor.cloud.clients import client
        from tutor.engine.labs.by_hand import watch

        # its reads become the check's by-hand commands (by_hand.py)
        return watch(client(service, self.endpoint, read_timeout=8.0, max_attempts=1))

    def name(self, suffix: str) -> str:
        """`ctx.name("orders")` -> `lab04-orders`."""
        return suffix if suffix.startswith(self.prefix) else f"{self.prefix}{suffix}"

    def scenario(self, name: str) -> dict[str, Any]:
        """The result of a scenario the step declared (it ran before the checks)."""
        if name not in self.results:
            known = ", ".join(sorted(self.results)) or "none"
            raise KeyError(f"scenario `{name}` did not run for this step (ran: {known}); "
                           "list it under the step's `scenarios:`")
        return self.results[name]

    # Helpers for the resource every SQS lab checks. They return None when absent.

    def queue_url(self, suffix: str) -> str | None:
        sqs = self.client("sqs")
        try:
            return str(sqs.get_queue_url(QueueName=self.name(suffix))["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            return None

    def queue_attributes(self, suffix: str) -> dict[str, str] | None:
        url = self.queue_url(suffix)
        if url is None:
            return None
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=url,
                                                        AttributeNames=["All"])
        return dict(attrs.get("Attributes", {}))

    def queue_arn(self, suffix: str) -> str:
        return f"arn:aws:sqs:{self.endpoint.region}:{self.endpoint.account}:{self.name(suffix)}"

    def require_queue_url(self, suffix: str,
                          fix: str = "run `python infra.py` in your workspace") -> str:
        """The queue's URL for a scenario; a missing queue fails the scenario with the fix."""
        url = self.queue_url(suffix)
        if url is None:
            raise ScenarioFailed(f"the queue `{self.name(suffix)}` does not exist", fix=fix)
        return url

    def api_rtt(self, samples: int = 5) -> float:
        """The slowest of `samples` round trips of the tutor's own cheapest SQS call, now:
        how slowly this machine answers at this moment. A latency budget stated for an
        idle machine grows by a multiple of it (LATENCY_LOAD_FACTOR), so a loaded machine
        does not fail a right answer, while a wait for a timeout or a sleep still shows."""
        sqs = self.client("sqs")
        worst = 0.0
        for _ in range(samples):
            began = time.monotonic()
            sqs.list_queues(QueueNamePrefix=self.prefix, MaxResults=1)
            worst = max(worst, time.monotonic() - began)
        return worst

    def timed_rounds(self, first: Sequence[float], again: Callable[[], Sequence[float]],
                     budget: Callable[[float], float], *, q: float = 0.95,
                     rounds: int = LATENCY_ROUNDS) -> tuple[list[float], float, int]:
        """The fastest of up to `rounds` rounds of timed answers: (its seconds, the largest
        `api_rtt` measured after a round, how many rounds were taken).

        `first` is a round already timed. While the best round's q-quantile is over
        `budget(rtt)`, `again()` times another round (timing only: what it sends must not
        count for the checks). The q-quantile of a few answers is decided by one stall of
        a loaded machine, and a stall rarely comes back in every round; what waits in the
        request path (a timeout, a sleep, a synchronous call) is slow in each of them. The
        best of repeated runs is a benchmark's estimate of what the code itself costs."""
        rtt = self.api_rtt()
        best, taken = list(first), 1
        while percentile(best, q) > budget(rtt) and taken < rounds:
            timing = list(again())
            taken += 1
            rtt = max(rtt, self.api_rtt())
            if percentile(timing, q) < percentile(best, q):
                best = timing
        return best, rtt, taken

    def message_counts(self, url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attrs = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attrs["ApproximateNumberOfMessages"]),
                int(attrs["ApproximateNumberOfMessagesNotVisible"]))

    # Policies, read with IAM semantics (tutor.engine.policy). Raise PolicyError when a
    # document cannot be read; checks turn that into a failure that quotes it.

    def queue_policy(self, suffix: str) -> Policy:
        """The queue's resource policy (no statements when it has none)."""
        from tutor.engine.policy import Policy

        attrs = self.queue_attributes(suffix) or {}
        return Policy.parse(attrs.get("Policy"), attached_to=self.queue_arn(suffix),
                            resource_policy=True,
                            source=f"the queue policy of `{self.name(suffix)}`")

    def role_policies(self, role: str) -> tuple[Policy, list[Policy]] | None:
        """(trust policy, permission policies: inline and attached) of a role, or None."""
        from tutor.engine.policy import Policy

        iam = self.client("iam")
        name = self.name(role)
        try:
            found = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            return None
        trust = Policy.parse(found.get("AssumeRolePolicyDocument") or None,
                             resource_policy=True, attached_to=found.get("Arn"),
                             source=f"the trust policy of `{name}`")
        permissions: list[Policy] = []
        for policy_name in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            permissions.append(Policy.parse(doc, source=f"inline policy `{policy_name}`"))
        for attached in iam.list_attached_role_policies(RoleName=name).get(
                "AttachedPolicies", []):
            meta = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(PolicyArn=attached["PolicyArn"],
                                             VersionId=meta["DefaultVersionId"])
            permissions.append(Policy.parse(version["PolicyVersion"]["Document"],
                                            source=f"attached policy `{attached['PolicyName']}`"))
        return trust, permissions

    def lambda_faults(self, function: str) -> LambdaFaults | None:
        """Fault injection into a Lambda function's handler (None: not available here)."""
        from tutor.engine.labs.faults import LambdaFaults

        return LambdaFaults.discover(self.endpoint, self.name(function))

    def move_tasks(self, source_suffix: str, since: float | None = None
                   ) -> list[dict[str, Any]]:
        """Message move tasks out of a queue that started after `since` (default: the
        start of this check run). Finished tasks outlive their queue in SQS and in
        LocalStack: a task from an earlier attempt, or from before a reset, never counts."""
        since = self.started_at if since is None else since
        tasks = self.client("sqs").list_message_move_tasks(
            SourceArn=self.queue_arn(source_suffix), MaxResults=10).get("Results", [])
        return [t for t in tasks
                if float(t.get("StartedTimestamp", 0)) / 1000.0 >= since - 1.0]

    def clear(self, url: str) -> None:
        """Empty a queue, messages in flight included (a failed message of an earlier run
        would come back in the middle of this one): purge, then drain what is left."""
        sqs = self.client("sqs")
        try:
            sqs.purge_queue(QueueUrl=url)
        except sqs.exceptions.PurgeQueueInProgress:  # one purge a minute: drain instead
            pass
        self.drain(url)

    def drain(self, url: str, max_batches: int = 300) -> int:
        """Delete whatever a queue holds (bounded), so a scenario starts from a known state."""
        sqs = self.client("sqs")
        removed = 0
        for _ in range(max_batches):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           VisibilityTimeout=30, WaitTimeSeconds=0
                                           ).get("Messages", [])
            if not messages:
                break
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
            removed += len(messages)
        return removed
