"""Running a predict-then-observe scenario against LocalStack and keeping the evidence.

A scenario is a small Python function (in `scenarios.py`) that creates its own resources
(named `quiz-<random>-...`), makes a few real SQS/SNS/Kinesis calls with seconds-scale
timings, and returns an outcome key that matches one option's `outcome:`. Every call and
its response land in the evidence shown to the learner. Resources are deleted afterwards,
whatever happened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor.cloud.clients import QUEUE_WAIT
from tutor.errors import TutorError

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

TIME_LIMIT = 15.0  # seconds a scenario may take, cleanup excluded
# A first Kinesis call in an account starts LocalStack's kinesis-mock (a Node.js process):
# seconds on an idle machine, more on a loaded one. That is the emulator starting, not the
# experiment, so it is logged and not counted against TIME_LIMIT.
KINESIS_START_NOTE = 1.0


@dataclass
class Observation:
    """What really happened: the outcome key, and the API calls that show it."""

    scenario: str
    outcome: str
    evidence: list[str]
    seconds: float
    prefix: str = ""  # every resource the scenario created is named with it

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "outcome": self.outcome,
                "evidence": self.evidence, "seconds": round(self.seconds, 2)}


@dataclass
class Run:
    """The toolbox a scenario gets: clients, unique names, an evidence log, cleanup."""

    endpoint: Endpoint
    prefix: str = field(default_factory=lambda: f"quiz-{uuid.uuid4().hex[:8]}")
    evidence: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    excluded: float = 0.0  # seconds not counted: the Kinesis emulator starting
    _queues: list[str] = field(default_factory=list)
    _topics: list[str] = field(default_factory=list)
    _streams: list[str] = field(default_factory=list)
    _kinesis_checked: bool = False

    def client(self, service: str) -> Any:
        from tutor.cloud.clients import client

        return client(service, self.endpoint, read_timeout=30.0)

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def kinesis(self) -> Any:
        """The Kinesis client; the first use checks that this LocalStack runs Kinesis and
        lets kinesis-mock start outside the scenario's time budget."""
        client = self.client("kinesis")
        if not self._kinesis_checked:
            self._kinesis_checked = True
            self._start_kinesis(client)
        return client

    def _start_kinesis(self, client: Any) -> None:
        from tutor.cloud.health import probe

        url = self.endpoint.url
        state = probe(url, timeout=3.0).services.get("kinesis", "absent")
        if state not in ("available", "running"):
            raise TutorError(
                f"This predict question runs on Kinesis, and the LocalStack at {url} does not "
                f"run it (Kinesis is {state})", "Kinesis not available",
                "the tutor's embedded LocalStack runs Kinesis once `make install` installed "
                "kinesis-mock (it needs Node.js); in an exam the documented answer is graded")
        began = time.monotonic()
        client.list_streams(Limit=1)
        took = time.monotonic() - began
        if took > KINESIS_START_NOTE:
            self.excluded += took
            self.log(f"(Kinesis emulator started in {took:.1f} s: the first Kinesis call "
                     "in this account starts kinesis-mock; not part of the experiment)")

    def elapsed(self) -> float:
        return time.monotonic() - self.started - self.excluded

    def log(self, line: str) -> None:
        self.evidence.append(f"[{self.elapsed():5.1f} s] {line}")

    def queue(self, name: str, *, fifo: bool = False, **attributes: Any) -> str:
        """Create a queue named `<prefix>-<name>`; returns its URL."""
        full = f"{self.prefix}-{name}" + (".fifo" if fifo else "")
        attrs = {k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in attributes.items()}
        if fifo:
            attrs["FifoQueue"] = "true"
        url = str(self.sqs.create_queue(QueueName=full, Attributes=attrs)["QueueUrl"])
        self._queues.append(url)
        shown = ", ".join(f"{k}={v}" for k, v in attrs.items()) or "defaults"
        self.log(f"CreateQueue {full} ({shown})")
        return url

    def topic(self, name: str) -> str:
        arn = str(self.sns.create_topic(Name=f"{self.prefix}-{name}")["TopicArn"])
        self._topics.append(arn)
        self.log(f"CreateTopic {self.prefix}-{name}")
        return arn

    def stream(self, name: str, shards: int = 1) -> str:
        """Create a provisioned stream `<prefix>-<name>` and wait until it is ACTIVE."""
        full = f"{self.prefix}-{name}"
        kinesis = self.kinesis
        kinesis.create_stream(StreamName=full, ShardCount=shards,
                              StreamModeDetails={"StreamMode": "PROVISIONED"})
        self._streams.append(full)
        status = "CREATING"
        deadline = time.monotonic() + 10
        while status != "ACTIVE" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = kinesis.describe_stream_summary(StreamName=full)[
                "StreamDescriptionSummary"]["StreamStatus"]
        self.log(f"CreateStream {full} ({shards} shard{'s' if shards != 1 else ''}) -> "
                 f"{status}")
        return full

    def shard_ids(self, stream: str) -> list[str]:
        return [s["ShardId"] for s in self.kinesis.list_shards(StreamName=stream)["Shards"]]

    def arn(self, url: str) -> str:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attrs["Attributes"]["QueueArn"])

    def counts(self, url: str) -> tuple[int, int, int]:
        """(visible, in flight, delayed), as GetQueueAttributes reports them; logged."""
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        a = attrs["Attributes"]
        found = (int(a["ApproximateNumberOfMessages"]),
                 int(a["ApproximateNumberOfMessagesNotVisible"]),
                 int(a["ApproximateNumberOfMessagesDelayed"]))
        self.log(f"GetQueueAttributes {url.rsplit('/', 1)[-1]}: visible={found[0]}, "
                 f"in flight={found[1]}, delayed={found[2]}")
        return found

    def receive(self, url: str, label: str = "ReceiveMessage", **kwargs: Any
                ) -> list[dict[str, Any]]:
        """ReceiveMessage with all attributes; logs what came back and how long it took.

        Without a WaitTimeSeconds the request has none, as a scenario's text says: the
        queue's ReceiveMessageWaitTimeSeconds applies."""
        began = time.monotonic()
        reply = self.sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"],
                                         **{"WaitTimeSeconds": QUEUE_WAIT, **kwargs})
        messages: list[dict[str, Any]] = reply.get("Messages", [])
        took = time.monotonic() - began
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        got = "; ".join(f"'{m['Body'][:40]}' (ApproximateReceiveCount="
                        f"{m.get('Attributes', {}).get('ApproximateReceiveCount', '?')})"
                        for m in messages) or "no messages"
        self.log(f"{label}({args}) -> {got} after {took:.1f} s")
        return messages

    def wait_visible(self, url: str, limit: float = 5.0) -> float:
        """Poll until a message of `url` is visible again (bounded); returns the wait."""
        began = time.monotonic()
        while time.monotonic() - began < limit and self.elapsed() < TIME_LIMIT:
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            if int(attrs["Attributes"]["ApproximateNumberOfMessages"]) > 0:
                break
            time.sleep(0.2)
        waited = time.monotonic() - began
        self.log(f"waited {waited:.1f} s for the visibility timeout to expire")
        return waited

    def sleep(self, seconds: float) -> None:
        if self.elapsed() + seconds > TIME_LIMIT:
            raise TutorError(f"scenario would exceed its {TIME_LIMIT:.0f} s budget",
                             "Scenario too slow", "shorten the timings in its params")
        self.log(f"wait {seconds:g} s")
        time.sleep(seconds)

    def error_code(self, call: Callable[[], Any], label: str) -> str | None:
        """Run `call`; return the AWS error code it raised (logged), or None on success."""
        from botocore.exceptions import ClientError

        try:
            call()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("QueryErrorCode") or err.get("Code", "?")).split(".")[-1]
            self.log(f"{label} -> error {code}: {err.get('Message', '')}")
            return code.removesuffix("Exception")
        self.log(f"{label} -> accepted")
        return None

    def cleanup(self) -> None:
        """Delete what the scenario created; never raises (a leftover is not fatal)."""
        for url in self._queues:
            try:
                self.sqs.delete_queue(QueueUrl=url)
            except Exception:  # cleanup is best effort
                pass
        for arn in self._topics:
            try:
                self.sns.delete_topic(TopicArn=arn)
            except Exception:
                pass
        for stream in self._streams:
            try:
                self.kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
            except Exception:
                pass
