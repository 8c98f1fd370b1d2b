"""Checks for lab 05: asynchronous task offloading (web app -> S3 -> SQS -> Lambda -> S3)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import random
import string
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote_plus

from tutor.engine.labs import faults
from tutor.engine.labs.deliveries import Deliveries
from tutor.engine.labs.checks import (
    CheckContext,
    Outcome,
    ScenarioFailed,
    check,
    expect,
    failed,
    partial,
    passed,
    percentile,
    scenario,
    skipped,
)
from tutor.engine.policy import OTHER_ACCOUNT, PolicyError, Principal, Request, audit, \
    source_probes

UPLOADS, PROCESSED = "uploads", "processed"
QUEUE, DLQ = "upload-events", "upload-events-dlq"
FUNCTION, ROLE = "compress", "compress-role"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
RECEIVES = (2, 5)  # maxReceiveCount the steps allow: a retry for a transient failure, and
#                    a poison message out of the way after a few
BATCH = (1, 5)  # BatchSize: a whole batch of 1 s scans must end well inside the timeout
TIMEOUT = (10, 15)  # function Timeout, s: five scans need about 6 s; the clock says 15
TRANSIENT_ERROR = "InternalError"
REDELIVERY_MOST = 150.0  # s the tutor waits for SQS to deliver a failed record again
CREATED_EVENTS = {"s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
                  "s3:ObjectCreated:CompleteMultipartUpload"}


# --- shared readers -------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function(ctx: CheckContext) -> dict[str, Any] | None:
    lam = ctx.client("lambda")
    try:
        return dict(lam.get_function_configuration(FunctionName=ctx.name(FUNCTION)))
    except lam.exceptions.ResourceNotFoundException:
        return None


def _mappings(ctx: CheckContext) -> list[dict[str, Any]]:
    lam = ctx.client("lambda")
    try:
        found = lam.list_event_source_mappings(FunctionName=ctx.name(FUNCTION))
    except lam.exceptions.ResourceNotFoundException:
        return []
    return [m for m in found.get("EventSourceMappings", [])
            if m.get("EventSourceArn") == ctx.queue_arn(QUEUE) and m.get("State") != "Deleting"]


def bucket(ctx: CheckContext, suffix: str) -> str:
    """`lab05-uploads-<account id>`: bucket names are global across accounts (on AWS and in
    LocalStack), so each learner's carry their account id, as is the practice on AWS."""
    return f"{ctx.name(suffix)}-{ctx.endpoint.account}"


def _bucket_exists(ctx: CheckContext, suffix: str, *, plain: bool = False) -> bool:
    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=ctx.name(suffix) if plain else bucket(ctx, suffix))
    except s3.exceptions.ClientError:
        return False
    return True


def function_logs(ctx: CheckContext, since: float, lines: int = 25) -> dict[str, Any]:
    """The function's CloudWatch Logs since `since` (epoch s): error lines and the tail."""
    logs = ctx.client("logs")
    group = f"/aws/lambda/{ctx.name(FUNCTION)}"
    messages: list[str] = []
    token: str | None = None
    try:
        for _ in range(10):  # bounded paging
            page = logs.filter_log_events(logGroupName=group, startTime=int(since * 1000),
                                          **({"nextToken": token} if token else {}))
            messages.extend(e["message"].rstrip() for e in page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
    except logs.exceptions.ResourceNotFoundException:
        return {"group": group, "errors": [], "tail": ["(no log group yet: the function "
                                                       "never ran)"]}
    errors = [m for m in messages if "[ERROR]" in m or "Error" in m.split(":", 1)[0]]
    return {"group": group, "errors": errors[:15], "tail": messages[-lines:],
            "no_such_key": sum("NoSuchKey" in m for m in messages),
            "invocations": sum(m.startswith("START RequestId") for m in messages),
            "timeouts": sum(m.startswith("REPORT ") and "Status: timeout" in m
                            for m in messages)}


def _finished_invocations(ctx: CheckContext, since: float) -> int:
    """END lines in the function's log since `since`: invocations that have returned (or
    timed out)."""
    logs = ctx.client("logs")
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{ctx.name(FUNCTION)}",
                              "startTime": int(since * 1000)}
    count = 0
    try:
        for _ in range(10):  # bounded paging
            page = logs.filter_log_events(**kwargs)
            count += sum(1 for e in page.get("events", [])
                         if e["message"].startswith("END RequestId"))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return 0
    return count


def _queue_depth(ctx: CheckContext, suffix: str) -> dict[str, int]:
    url = ctx.queue_url(suffix)
    if url is None:
        return {"visible": -1, "in_flight": -1}
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


def _keys(ctx: CheckContext, prefix: str, suffix: str = PROCESSED) -> list[str]:
    s3 = ctx.client("s3")
    keys: list[str] = []
    token: str | None = None
    for _ in range(20):
        page = s3.list_objects_v2(Bucket=bucket(ctx, suffix), Prefix=prefix,
                                  **({"ContinuationToken": token} if token else {}))
        keys.extend(o["Key"] for o in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            break
    return keys


def _ids(keys: list[str], folder: str, ext: str) -> set[str]:
    """Upload ids of the keys `<folder>/<id><ext>` (other spellings are not results)."""
    return {k[len(folder) + 1:-len(ext)] for k in keys
            if k.startswith(folder + "/") and k.endswith(ext) and "/" not in
            k[len(folder) + 1:-len(ext)]}


def _verify(ctx: CheckContext, expected: dict[str, str]) -> dict[str, str]:
    """upload_id -> "ok" | why not, for the gzip results of uploads with known SHA-256."""
    s3 = ctx.client("s3")
    verdicts: dict[str, str] = {}
    for upload_id, digest in expected.items():
        try:
            body = s3.get_object(Bucket=bucket(ctx, PROCESSED),
                                 Key=f"done/{upload_id}.gz")["Body"].read()
        except s3.exceptions.ClientError:
            verdicts[upload_id] = "missing"
            continue
        try:
            data = gzip.decompress(body)
        except (OSError, EOFError):
            verdicts[upload_id] = "not gzip"
            continue
        verdicts[upload_id] = ("ok" if hashlib.sha256(data).hexdigest() == digest
                               else "content differs from the upload")
    return verdicts


def _text(rng: random.Random, size: int) -> bytes:
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))
             for _ in range(200)]
    out: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choices(words, k=12)) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()


def _first_error(logs: dict[str, Any]) -> str:
    """"; the function logged: <first error line>" or "" — what the learner needs first."""
    errors = logs.get("errors") or []
    said = f"; the function logged: {errors[0][:160]}" if errors else ""
    if logs.get("invocations") == 0:
        said += ("; the function never ran (no invocation in its log): is the mapping "
                 "Enabled? On a very busy machine LocalStack may fail to start it in time")
    if logs.get("timeouts"):
        said += (f"; {logs['timeouts']} invocations timed out (`Status: timeout` in the "
                 "REPORT lines): a batch that times out comes back whole")
    return said


def _require_pipeline(ctx: CheckContext) -> None:
    for suffix in (UPLOADS, PROCESSED):
        if not _bucket_exists(ctx, suffix):
            raise ScenarioFailed(f"the bucket `{bucket(ctx, suffix)}` does not exist",
                                 fix="run `python infra.py`")
    if ctx.queue_url(QUEUE) is None:
        raise ScenarioFailed(f"the queue `{ctx.name(QUEUE)}` does not exist",
                             fix="run `python infra.py`")
    if _function(ctx) is None or not _mappings(ctx):
        raise ScenarioFailed(f"the function `{ctx.name(FUNCTION)}` or its event source "
                             f"mapping from `{ctx.name(QUEUE)}` does not exist",
                             fix="run `python deploy.py`")


def _fresh_start(ctx: CheckContext) -> dict[str, int]:
    """Empty the queue (leftovers of earlier runs would blur the measure); the DLQ depth."""
    sqs = ctx.client("sqs")
    try:
        sqs.purge_queue(QueueUrl=ctx.queue_url(QUEUE))
    except sqs.exceptions.PurgeQueueInProgress:  # AWS allows one purge a minute
        pass
    return _queue_depth(ctx, DLQ)


# --- step 1: storage, queue, notification ---------------------------------------------


@check
def buckets_exist(ctx: CheckContext) -> Outcome:
    names = {suffix: bucket(ctx, suffix) for suffix in (UPLOADS, PROCESSED)}
    present = [names[s] for s in names if _bucket_exists(ctx, s)]
    missing = [names[s] for s in names if names[s] not in present]
    found = f"{', '.join(missing)} missing" if missing else "both"
    unsuffixed = [ctx.name(s) for s in names
                  if names[s] in missing and _bucket_exists(ctx, s, plain=True)]
    if unsuffixed:  # the name of the lab text before the account id was added
        found += (f" (`{unsuffixed[0]}` exists: bucket names end with your account id, "
                  "from STS GetCallerIdentity)")
    return partial(len(present) / 2, f"the buckets `{names[UPLOADS]}` and "
                   f"`{names[PROCESSED]}`", found, present=present)


@check
def queue_policy_for_s3(ctx: CheckContext) -> Outcome:
    """The whole policy read with IAM semantics: S3 may send for the upload bucket, and
    nobody and nothing else may use the queue through it."""
    uploads_arn = f"arn:aws:s3:::{bucket(ctx, UPLOADS)}"
    expected = (f"a queue policy that lets `s3.amazonaws.com` `sqs:SendMessage` only when "
                f"`aws:SourceArn` is `{uploads_arn}`, and allows nothing else")
    if ctx.queue_attributes(QUEUE) is None:
        return failed(f"the queue `{ctx.name(QUEUE)}`", "none")
    try:
        policy = ctx.queue_policy(QUEUE)
    except PolicyError as exc:
        return failed(expected, f"a policy the tutor cannot read: {exc}")
    if not policy.statements:
        return failed(expected, "no queue policy: S3 may not send (on AWS, "
                      "PutBucketNotificationConfiguration fails to validate the queue)")
    allow, deny = source_probes(ctx.queue_arn(QUEUE), "sqs:SendMessage", "s3.amazonaws.com",
                                uploads_arn, ctx.endpoint.account)
    report = audit([policy], allow, deny)
    return expect(report.ok, expected, report.summary(), **report.to_evidence())


@check
def bucket_notification(ctx: CheckContext) -> Outcome:
    if not _bucket_exists(ctx, UPLOADS):
        return failed(f"the bucket `{bucket(ctx, UPLOADS)}`", "none")
    config = ctx.client("s3").get_bucket_notification_configuration(Bucket=bucket(ctx, UPLOADS))
    queues = config.get("QueueConfigurations", [])
    expected = (f"`{bucket(ctx, UPLOADS)}` to announce every `s3:ObjectCreated:*` event of "
                f"the keys under `incoming/` on `{ctx.name(QUEUE)}`")
    mine = [q for q in queues if q.get("QueueArn") == ctx.queue_arn(QUEUE)]
    if not mine:
        return failed(expected, f"queue notifications to {[q.get('QueueArn') for q in queues]}"
                      if queues else "no queue notification", configuration=queues)
    best: tuple[float, str] = (0.0, "")
    for entry in mine:
        events = {str(e) for e in entry.get("Events", [])}
        created = "s3:ObjectCreated:*" in events or events >= CREATED_EVENTS
        rules = (entry.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
        prefixes = [str(r.get("Value")) for r in rules if str(r.get("Name")).lower() == "prefix"]
        suffixes = [str(r.get("Value")) for r in rules
                    if str(r.get("Name")).lower() == "suffix" and r.get("Value")]
        prefixed = prefixes == ["incoming/"] and not suffixes
        problems = []
        if not created:
            some = sorted(events)
            problems.append(f"events {some}: uploads made another way (a multipart upload, a "
                            "copy, a POST form) would never be announced — use "
                            "`s3:ObjectCreated:*`")
        if not prefixed:
            problems.append(f"filter {rules or 'none'}: " + (
                "a suffix rule leaves out uploads with other names" if suffixes else
                "the prefix must be `incoming/` (with the slash), or other keys are "
                "announced too"))
        score = 0.4 + 0.3 * created + 0.3 * prefixed
        if score > best[0]:
            best = (score, "; ".join(problems) or f"events {sorted(events)}, prefix "
                    "`incoming/`")
    return partial(best[0], expected, best[1], configuration=mine)


# --- step 2: the function, its role and its mapping -------------------------------------


@check
def function_ready(ctx: CheckContext) -> Outcome:
    conf = _function(ctx)
    if conf is None:
        return failed(f"a function `{ctx.name(FUNCTION)}` (deploy it with `python deploy.py`)",
                      "none")
    low, high = TIMEOUT
    processed = bucket(ctx, PROCESSED)
    env = ((conf.get("Environment") or {}).get("Variables") or {})
    timeout = int(conf.get("Timeout", 0))
    parts = {
        "Active": conf.get("State") == "Active",
        "a Python runtime": str(conf.get("Runtime", "")).startswith("python3"),
        f"a role named {ctx.prefix}...": f":role/{ctx.prefix}" in str(conf.get("Role")),
        f"Timeout {low} to {high} s": low <= timeout <= high,
        f"PROCESSED_BUCKET={processed}": env.get("PROCESSED_BUCKET") == processed,
    }
    missing = [name for name, ok in parts.items() if not ok]
    found = (f"state {conf.get('State')}, runtime {conf.get('Runtime')}, role "
             f"{conf.get('Role')}, timeout {timeout} s, PROCESSED_BUCKET "
             f"{env.get('PROCESSED_BUCKET', 'unset')}")
    if missing:
        found += f" (not: {', '.join(missing)})"
    if timeout < low:
        found += (f"; a batch of five 1 s scans cannot finish in {timeout} s"
                  + (" (3 s is Lambda's default: did create_function get Timeout?)"
                     if timeout == 3 else ""))
    return partial(sum(parts.values()) / len(parts),
                   f"`{ctx.name(FUNCTION)}` " + ", ".join(parts), found,
                   configuration={k: conf.get(k) for k in ("State", "Runtime", "Role",
                                                           "Handler", "Timeout")})


def _permission_probes(ctx: CheckContext) -> tuple[list[Request], list[Request]]:
    """What the function needs, and what it must not be able to do."""
    queue = ctx.queue_arn(QUEUE)
    uploads, processed = bucket(ctx, UPLOADS), bucket(ctx, PROCESSED)
    region, account = ctx.endpoint.region, ctx.endpoint.account
    group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{ctx.name(FUNCTION)}"
    upload = f"arn:aws:s3:::{uploads}/incoming/a1b2/report.txt"
    need = [Request(a, queue, label=f"{a} on the queue") for a in
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")]
    need += [Request("s3:GetObject", upload, label="s3:GetObject on an upload"),
             Request("s3:PutObject", f"arn:aws:s3:::{processed}/done/a1b2.gz",
                     label="s3:PutObject of a result"),
             Request("s3:PutObject", f"arn:aws:s3:::{processed}/rejected/a1b2.json",
                     label="s3:PutObject of a rejection"),
             Request("logs:CreateLogStream", f"{group}:*", label="logs:CreateLogStream"),
             Request("logs:PutLogEvents", f"{group}:log-stream:2026/01/01/x",
                     label="logs:PutLogEvents")]
    other_queue = f"arn:aws:sqs:{region}:{account}:another-queue"
    deny = [Request(a, queue, label=f"{a} on the queue (only receive, delete and get "
                    "attributes were asked for)")
            for a in ("sqs:SendMessage", "sqs:PurgeQueue", "sqs:DeleteQueue",
                      "sqs:SetQueueAttributes")]
    deny += [Request("sqs:SendMessage", other_queue, label="sqs:SendMessage to any other queue"),
             Request("s3:DeleteObject", upload, label="s3:DeleteObject of an upload"),
             Request("s3:PutObject", upload, label="s3:PutObject over an upload"),
             Request("s3:DeleteObject", f"arn:aws:s3:::{processed}/done/a1b2.gz",
                     label="s3:DeleteObject of a result"),
             Request("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/secret.txt",
                     label="s3:GetObject on any other bucket"),
             Request("s3:PutBucketPolicy", f"arn:aws:s3:::{processed}",
                     label="s3:PutBucketPolicy on the results bucket"),
             Request("iam:CreateUser", "*", label="iam:CreateUser (another service)"),
             Request("lambda:UpdateFunctionCode",
                     f"arn:aws:lambda:{region}:{account}:function:{ctx.name(FUNCTION)}",
                     label="lambda:UpdateFunctionCode (another service)")]
    return need, deny


@check
def function_role(ctx: CheckContext) -> Outcome:
    """The role's trust policy and permissions, read with IAM semantics: exactly what the
    step lists (LocalStack enforces none of it; AWS enforces all of it)."""
    conf = _function(ctx)
    if conf is None:
        return failed(f"a function `{ctx.name(FUNCTION)}`", "none")
    role = str(conf.get("Role", "")).rsplit("/", 1)[-1]
    expected = (f"a role `{ctx.prefix}...` that only `lambda.amazonaws.com` may assume, "
                "allowed to receive/delete/get attributes on the queue, read the uploads, "
                "write results and logs, and nothing more")
    if not role.startswith(ctx.prefix):
        return failed(expected, f"the role `{role}`")
    try:
        found = ctx.role_policies(role)
    except PolicyError as exc:
        return failed(expected, f"a policy the tutor cannot read: {exc}")
    if found is None:
        return failed(expected, f"no role `{role}` in IAM (LocalStack accepts any role ARN; "
                      "AWS does not)")
    trust, permissions = found
    role_arn = f"arn:aws:iam::{ctx.endpoint.account}:role/{role}"
    lam = Principal.service("lambda.amazonaws.com")
    trust_report = audit([trust], [Request("sts:AssumeRole", role_arn, lam,
                                           label="lambda.amazonaws.com to assume it")],
                         [Request("sts:AssumeRole", role_arn, Principal.service(
                             "ec2.amazonaws.com"), label="ec2.amazonaws.com to assume it"),
                          Request("sts:AssumeRole", role_arn, Principal.account(OTHER_ACCOUNT),
                                  label=f"account {OTHER_ACCOUNT} to assume it"),
                          Request("sts:AssumeRole", role_arn, Principal.anonymous(),
                                  label="anyone to assume it")])
    need, deny = _permission_probes(ctx)
    access = audit(permissions, need, deny)
    parts = []
    if not trust_report.ok:
        parts.append("trust policy: " + trust_report.summary())
    if not access.ok:
        parts.append("permissions: " + access.summary())
    score = 0.4 * trust_report.ok + 0.6 * access.ok
    return partial(score, expected, "; ".join(parts) or "exactly that",
                   trust=trust_report.to_evidence(), permissions=access.to_evidence())


@check
def event_source_mapping(ctx: CheckContext) -> Outcome:
    found = _mappings(ctx)
    low, high = BATCH
    expected = (f"an Enabled mapping from `{ctx.name(QUEUE)}` with BatchSize {low} to {high} "
                "and FunctionResponseTypes [ReportBatchItemFailures]")
    if not found:
        return failed(expected, "none")
    mapping = found[0]
    size = int(mapping.get("BatchSize", 10))
    enabled = mapping.get("State") in ("Enabled", "Enabling", "Creating", "Updating")
    batch_ok = low <= size <= high
    reports = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
    text = (f"state {mapping.get('State')}, BatchSize {size}, FunctionResponseTypes "
            f"{mapping.get('FunctionResponseTypes', [])}")
    if not batch_ok:
        text += (f" ({size} scans of 1 s in one invocation: at most {high} fit the "
                 "function's timeout with room to spare)")
    if not reports:
        text += " (without it Lambda ignores batchItemFailures and deletes the whole batch)"
    return partial((enabled + batch_ok + reports) / 3, expected, text,
                   mapping={k: mapping.get(k) for k in ("UUID", "State", "BatchSize",
                                                        "FunctionResponseTypes")})


@check
def visibility_vs_timeout(ctx: CheckContext) -> Outcome:
    conf = _function(ctx)
    attrs = ctx.queue_attributes(QUEUE)
    if conf is None or attrs is None:
        return failed(f"the function `{ctx.name(FUNCTION)}` and the queue "
                      f"`{ctx.name(QUEUE)}`", "one of them missing")
    timeout = int(conf.get("Timeout", 3))
    visibility = int(attrs.get("VisibilityTimeout", 30))
    found = f"{visibility} s"
    if visibility < timeout:
        found += " (below the function timeout: AWS refuses such a mapping)"
    elif visibility < 6 * timeout:
        found += (" (a batch that is retried after throttling can reappear while a copy "
                  "still runs)")
    return expect(visibility >= 6 * timeout,
                  f"the queue's VisibilityTimeout >= 6 x the function Timeout "
                  f"(6 x {timeout} = {6 * timeout} s)", found,
                  visibility_timeout=visibility, function_timeout=timeout,
                  production=ctx.clock.explain("visibility_timeout"))


# --- step 3: uploads announced by S3, processed by the function ------------------------


def _test_event(bucket: str) -> str:
    return json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                       "Time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                       "Bucket": bucket, "RequestId": uuid.uuid4().hex[:16].upper(),
                       "HostId": uuid.uuid4().hex})


def _s3_event(bucket: str, key: str, size: int) -> str:
    """The notification S3 sends for a new object; keys are URL-encoded as on AWS."""
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads-to-queue",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size}}}]})


class _Watch:
    """Readings of one scenario's results and queue, and when they last changed."""

    def __init__(self, ctx: CheckContext, run: str, plan: faults.LambdaFaults | None,
                 since: float) -> None:
        self.ctx, self.run, self.plan, self.since = ctx, run, plan, since
        self.trace = Deliveries(ctx.endpoint, ctx.name(QUEUE), since - 1.0)
        self.signature: tuple[Any, ...] = ()
        self.changed = time.monotonic()
        self.done_keys: list[str] = []
        self.done: set[str] = set()
        self.rejected: set[str] = set()
        self.depth = {"visible": 0, "in_flight": 0}
        self.failed_writes: set[str] = set()  # upload ids whose result write the tutor failed
        self.reads = 0  # S3 GetObject calls of the function (it reads each upload once)

    def read(self) -> None:
        self.done_keys = _keys(self.ctx, f"done/{self.run}")
        self.done = _ids(self.done_keys, "done", ".gz")
        self.rejected = _ids(_keys(self.ctx, f"rejected/{self.run}"), "rejected", ".json")
        self.depth = _queue_depth(self.ctx, QUEUE)
        self.trace.read()
        calls = 0
        if self.plan is not None:
            events = self.plan.events(self.since)
            calls = len(events)
            keys = [str(e.get("key", "")) for e in events if e.get("kind") == "fault"]
            self.failed_writes = {k.removeprefix("done/").split(".")[0].split("-")[0]
                                  for k in keys}
            self.reads = sum(1 for e in events if e.get("kind") == "api"
                             and e.get("service") == "s3" and e.get("op") == "GetObject")
        signature = (len(self.done_keys), len(self.rejected), self.depth["visible"],
                     self.depth["in_flight"], calls)
        if signature != self.signature:
            self.signature, self.changed = signature, time.monotonic()

    def quiet_for(self) -> float:
        return time.monotonic() - self.changed

    @property
    def empty(self) -> bool:
        return self.depth["visible"] == 0 and self.depth["in_flight"] == 0

    def stalled(self, function_timeout: float) -> bool:
        """Nothing visible, and whatever is in flight is no longer being worked on: it
        waits for the visibility timeout (or nothing is left). Every batch Lambda received
        has an END line in the log once its invocation returned, however long a busy
        machine took to start it. Without the trace: no change for a while."""
        if self.depth["visible"] != 0:
            return False
        idle = self.trace.idle_for()
        if idle is None:
            return self.quiet_for() >= 8.0 or (self.empty and self.quiet_for() >= 2)
        if self.empty:
            return self.quiet_for() >= 1.5
        if self.quiet_for() < 1.5:
            return False
        if _finished_invocations(self.ctx, self.since) >= self.trace.receives:
            return True
        return idle > function_timeout + 20.0  # an invocation that never logged (bounded)

    def retained(self, tutor_sent: set[str]) -> tuple[int, int]:
        """(notifications waiting for a retry, messages the tutor sent waiting for one)."""
        held = self.trace.held()
        if held is None:  # no trace: every message in flight counts as a notification
            return self.depth["in_flight"], 0
        return len(held - tutor_sent), len(held & tutor_sent)


@scenario(timeout=90)
def s3_uploads(ctx: CheckContext) -> dict[str, Any]:
    """Uploads put straight into S3 (names with spaces and +), two bad ones, the s3:TestEvent
    S3 sends, one notification delivered twice (S3 and SQS are at-least-once), and two
    uploads whose first result write fails (a transient S3 error): SQS must deliver them
    again after the visibility timeout, and they must be stored once."""
    _require_pipeline(ctx)
    dlq_before = _fresh_start(ctx)
    visibility = int((ctx.queue_attributes(QUEUE) or {}).get("VisibilityTimeout", 30))
    function_timeout = float((_function(ctx) or {}).get("Timeout", 3))
    since = time.time()
    run = uuid.uuid4().hex[:6]
    rng = random.Random(run)
    uploads = bucket(ctx, UPLOADS)
    sqs, s3 = ctx.client("sqs"), ctx.client("s3")
    queue_url = str(ctx.queue_url(QUEUE))
    plan = ctx.lambda_faults(FUNCTION)
    transient = [f"{run}t0", f"{run}t1"]
    valid: dict[str, str] = {}
    keys: dict[str, str] = {}
    watch = _Watch(ctx, run, plan, since)
    first, second = "", ""
    try:
        if plan is not None:  # the first write of each of these results fails
            plan.set([faults.api_error("s3", "PutObject", per="Key",
                                       match={"Key": f"done/{run}t*"}, code=TRANSIENT_ERROR,
                                       message="We encountered an internal error. Please "
                                               "try again.")])
        test_id = sqs.send_message(QueueUrl=queue_url,
                                   MessageBody=_test_event(uploads))["MessageId"]
        # The transient ones among good ones, so they share batches with uploads that work.
        order = [f"{run}v0", f"{run}v1", transient[0], f"{run}v2", f"{run}v3", transient[1],
                 f"{run}v4", f"{run}v5"]
        for i, upload_id in enumerate(order):
            name = [f"report {i}.txt", f"notes+v{i}.txt", f"plain{i}.txt"][i % 3]
            data = _text(rng, rng.randint(4_000, 40_000))
            keys[upload_id] = f"incoming/{upload_id}/{name}"
            s3.put_object(Bucket=uploads, Key=keys[upload_id], Body=data)
            valid[upload_id] = hashlib.sha256(data).hexdigest()
        invalid = {f"{run}x0": b"", f"{run}x1": EICAR.encode()}
        for upload_id, data in invalid.items():
            s3.put_object(Bucket=uploads, Key=f"incoming/{upload_id}/bad.txt", Body=data)
        duplicate = f"{run}v0"  # "report 0.txt": AWS spells it report+0.txt
        dup_id = sqs.send_message(QueueUrl=queue_url, MessageBody=_s3_event(
            uploads, keys[duplicate], 1))["MessageId"]
        tutor_sent = {test_id, dup_id}
        good = set(valid) - set(transient)
        first = _first_pass(ctx, watch, good, set(invalid), set(transient), tutor_sent,
                            function_timeout)
        notifications, replays = watch.retained(tutor_sent)
        held = watch.trace.held() or set()
        retained = {**watch.depth, "notifications": notifications, "replays": replays,
                    "test_event": test_id in held, "duplicate": dup_id in held,
                    "missing_good": len(good - watch.done),
                    "missing_rejected": len(set(invalid) - watch.rejected),
                    "reads": watch.reads, "uploads": len(valid) + len(invalid),
                    "redelivered": watch.trace.redelivered(),
                    "traced": watch.trace.available}
        if first == "retry-pending":
            second = _redelivery(ctx, watch, set(transient), visibility)
        fired = sorted(watch.failed_writes & set(transient))
    finally:
        if plan is not None:
            plan.clear()
    rejected: dict[str, Any] = {}
    for upload_id in [*invalid, *transient]:
        try:
            body = s3.get_object(Bucket=bucket(ctx, PROCESSED),
                                 Key=f"rejected/{upload_id}.json")["Body"].read()
            rejected[upload_id] = json.loads(body)
        except (s3.exceptions.ClientError, ValueError):
            rejected[upload_id] = None
    verdicts = _verify(ctx, valid)
    return {"finished": watch.empty and not (set(valid) - watch.done)
            and set(invalid) <= watch.rejected,
            "valid": sorted(good), "invalid": list(invalid), "duplicate": duplicate,
            "verdicts": {i: v for i, v in verdicts.items() if i in good},
            "done_keys": sorted(watch.done_keys),
            "rejected": {i: r for i, r in rejected.items() if i in invalid},
            "transient": {"injected": plan is not None, "ids": transient, "fired": fired,
                          "verdicts": {i: verdicts[i] for i in transient},
                          "rejected": [i for i in transient if rejected.get(i)],
                          "first_pass": first, "retained": retained, "second_pass": second,
                          "visibility": visibility},
            "queue": _queue_depth(ctx, QUEUE), "dlq_before": dlq_before,
            "dlq": _queue_depth(ctx, DLQ), "logs": function_logs(ctx, since),
            "budget": ctx.budget_note()}


def _first_pass(ctx: CheckContext, watch: _Watch, good: set[str], invalid: set[str],
                transient: set[str], tutor_sent: set[str], function_timeout: float) -> str:
    """Until every upload has its result, or the only thing left is the retry of the
    writes the tutor failed, or nothing has moved for a while (the rest waits for the
    visibility timeout: its outcome is known). Bounded."""
    state = {"outcome": "timeout"}

    def settled() -> bool:
        watch.read()
        all_done = (good | transient) <= watch.done and invalid <= watch.rejected
        if all_done and watch.empty:
            state["outcome"] = "finished"
            return True
        pending = transient - watch.done
        waiting = pending <= watch.failed_writes and not (pending & watch.rejected)
        if (pending and waiting and good <= watch.done and invalid <= watch.rejected
                and watch.depth["visible"] == 0
                and watch.depth["in_flight"] == len(pending)
                and watch.retained(tutor_sent) == (len(pending), 0)):
            state["outcome"] = "retry-pending"
            return True
        # What is left waits for the visibility timeout (a failed batch), or nothing is
        # left at all: the outcome of this pass is known.
        if watch.stalled(function_timeout):
            state["outcome"] = "settled"
            return True
        return False

    ctx.runner.wait_until(settled, timeout=60, interval=1.0)
    return state["outcome"]


def _redelivery(ctx: CheckContext, watch: _Watch, transient: set[str], visibility: int
                ) -> str:
    """Until SQS has delivered the failed records again and the function stored them, or
    the queue is empty without them (lost). Sized from the learner's visibility timeout."""
    if visibility + 15 > REDELIVERY_MOST:  # it cannot come back while the tutor waits
        return "timeout"
    wait = ctx.budget(visibility + 15, f"your visibility timeout of {visibility} s (a failed "
                      "record is delivered again after it)", most=REDELIVERY_MOST)
    state = {"outcome": "timeout", "empty": 0}

    def settled() -> bool:
        watch.read()
        if transient <= watch.done and watch.empty:
            state["outcome"] = "retried"
            return True
        state["empty"] = state["empty"] + 1 if watch.empty else 0
        if state["empty"] >= 2:
            state["outcome"] = "lost"
            return True
        return False

    ctx.runner.wait_until(settled, timeout=wait, interval=1.5)
    return state["outcome"]


@check
def uploads_stored(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    verdicts = result["verdicts"]
    ok = [i for i, v in verdicts.items() if v == "ok"]
    wrong = {i: v for i, v in verdicts.items() if v != "ok"}
    return partial(len(ok) / len(verdicts),
                   f"each of {len(verdicts)} uploads gzipped into "
                   f"`{bucket(ctx, PROCESSED)}/done/<upload_id>.gz` (some names hold spaces "
                   "and `+`)", f"{len(ok)} correct" + (f"; {wrong}" if wrong else "")
                   + (_decode_hint(result) + _first_error(result["logs"]) if wrong else ""),
                   verdicts=verdicts, function_logs=result["logs"])


def _decode_hint(result: dict[str, Any]) -> str:
    if result["logs"].get("no_such_key"):
        return ("; the function asked S3 for keys that do not exist (NoSuchKey): keys "
                "arrive URL-encoded (`report+0.txt` is `report 0.txt`), decode them with "
                "`unquote_plus`")
    return ""


@check
def uploads_rejected(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    rejected = result["rejected"]
    done = _ids(result["done_keys"], "done", ".gz")
    ok = [i for i, r in rejected.items() if r and r.get("reason") and i not in done]
    return partial(len(ok) / len(rejected),
                   f"the {len(rejected)} bad uploads (empty, EICAR) recorded as "
                   "`rejected/<upload_id>.json` with a `reason`, and not stored",
                   f"{len(ok)} recorded: {rejected}", rejected=rejected,
                   function_logs=result["logs"])


@check
def transient_failures_retried(ctx: CheckContext) -> Outcome:
    """The fault the pattern exists for: a write fails once. The record must go back to
    the queue (batchItemFailures), come back after the visibility timeout, be stored once."""
    result = ctx.scenario("s3_uploads")
    info = result["transient"]
    ids = info["ids"]
    expected = (f"the uploads {', '.join(ids)}, whose first result write the tutor made fail "
                f"({TRANSIENT_ERROR}, a transient error), reported in batchItemFailures, "
                "delivered again by SQS and stored once")
    if not info["injected"]:
        return skipped("this LocalStack does not run the tutor's fault hook in Lambda "
                       "functions (start it with `tutor localstack up`)")
    evidence = {"transient": info, "function_logs": result["logs"]}
    fired = info["fired"]
    verdicts = info["verdicts"]
    if not fired:
        return failed(expected, "the tutor's fault never fired: your function never wrote "
                      f"a result under `done/{ids[0]}`; results {verdicts}"
                      + _first_error(result["logs"]),
                      **evidence)
    if info["rejected"]:
        return failed(expected, f"{', '.join(info['rejected'])} recorded as rejected, although "
                      "only writing its result failed, with a transient error: only "
                      "`scanner.Rejected` is permanent — report any other failure in "
                      "batchItemFailures, so SQS delivers the message again", **evidence)
    missing = [i for i in ids if verdicts[i] != "ok"]
    retained, first, second = info["retained"], info["first_pass"], info["second_pass"]
    if first == "settled" and missing:
        # Which notifications wait for a retry: the failed writes, the uploads that have
        # no result (their own failure), and nothing else if only the failed ones came back.
        explained = retained["missing_good"] + retained["missing_rejected"]
        for_these = retained["notifications"] - explained
        if for_these <= 0 and retained.get("redelivered", 0) >= len(missing):
            second = "lost"  # SQS did deliver them again, before this pass ended
        elif for_these <= 0:
            return failed(expected, f"{', '.join(missing)} lost: your function caught the "
                          "failed write and returned as if it had worked, so Lambda deleted "
                          "the message and no retry will ever come — return the record in "
                          "batchItemFailures instead", **evidence)
        unread = retained["uploads"] - retained["reads"]
        if second == "lost":
            pass
        elif for_these > len(missing) or (unread > 0 and explained):
            found = (f"{retained['notifications']} notifications left for a retry, but only "
                     f"{len(missing)} records failed a write")
            if unread > 0 and explained:
                found += (f", and {unread} uploads were never even read (their batch was "
                          "given up)")
            return failed(expected, found + ": an exception escaped your handler and failed "
                          "its whole batch, so Lambda runs the records of that batch that "
                          "worked (or were never tried) again too — catch the failure per "
                          "record and return only the failed ones in batchItemFailures"
                          + _first_error(result["logs"]), **evidence)
        else:
            return partial(0.5, expected, f"{', '.join(missing)} kept for a retry (not "
                           "lost), but the tutor did not wait for it: other messages failed "
                           "as well (see the other checks of this step); fix those first",
                           **evidence)
    if second == "lost":
        return failed(expected, f"SQS delivered {', '.join(missing)} again after the "
                      f"visibility timeout ({info['visibility']} s), and your function "
                      "deleted the message without storing it: does it mark an upload as "
                      "done before its result is written?", **evidence)
    if second == "timeout" and missing and result["queue"]["in_flight"] >= len(missing):
        return passed(expected, f"{', '.join(missing)} kept in the queue for a retry after "
                      f"your visibility timeout of {info['visibility']} s, later than the "
                      f"tutor waits (at most {REDELIVERY_MOST:.0f} s){result['budget']}",
                      **evidence)
    if missing:
        return failed(expected, f"{', '.join(missing)} not stored ({verdicts}); "
                      f"{retained['in_flight']} messages in flight after the first pass"
                      + result["budget"] + _first_error(result["logs"]), **evidence)
    how = ("delivered again by SQS after the visibility timeout" if second == "retried"
           else "retried by your function itself")
    return passed(expected, f"the first write of {', '.join(fired)} failed; {how}, each "
                  "is stored once", **evidence)


@check
def duplicates_idempotent(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    uploads = result["valid"] + result["transient"]["ids"]
    expected = {f"done/{i}.gz" for i in uploads}
    found = set(result["done_keys"])
    extra = sorted(found - expected)
    dup = [k for k in found if k.startswith(f"done/{result['duplicate']}")]
    if not found:
        return failed("one result object per upload although one notification arrived "
                      "twice", "no result at all" + _first_error(result["logs"]),
                      function_logs=result["logs"])
    return expect(not extra and len(dup) == 1,
                  "exactly one object per upload in `done/` although the notification of "
                  f"`{result['duplicate']}` arrived twice and two uploads were retried "
                  "(same upload -> same key)",
                  f"{len(found)} objects for {len(expected)} uploads"
                  + (f", extra {extra[:4]}: a key that changes with each pass makes a new "
                     "object for every delivery" if extra else ""),
                  done_keys=sorted(found), function_logs=result["logs"])


@check
def queue_drained(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    queue, dlq = result["queue"], result["dlq"]
    left = queue["visible"] + queue["in_flight"]
    new_dead = dlq["visible"] + dlq["in_flight"] - result["dlq_before"]["visible"] - \
        result["dlq_before"]["in_flight"]
    errors = result["logs"]["errors"]
    late = result["transient"]["second_pass"] == "timeout"
    # A retry later than the tutor can wait (a long visibility timeout) is not a fault.
    allowed = len(result["transient"]["ids"]) if late else 0
    return expect(left <= allowed and new_dead <= 0,
                  "every message deleted, the s3:TestEvent included (nothing left in "
                  f"`{ctx.name(QUEUE)}`, nothing new in its DLQ)",
                  f"{queue['visible']} waiting, {queue['in_flight']} in flight (back after "
                  f"the visibility timeout), {max(0, new_dead)} new in the DLQ"
                  + ("; the s3:TestEvent was never deleted: your function failed on it (it "
                     "has no `Records`) — acknowledge it by returning normally"
                     if result["transient"]["retained"].get("test_event") else "")
                  + _decode_hint(result)
                  + (f"; the function logged {len(errors)} error lines, first: "
                     f"{errors[0][:160]}" if errors else ""),
                  queue=queue, dlq=dlq, function_logs=result["logs"])


# --- step 4: the web app answers at once ------------------------------------------------


def _http(port: int, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None, timeout: float = 10.0
          ) -> tuple[int, bytes, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        data = reply.read()
        return reply.status, data, time.perf_counter() - start
    finally:
        conn.close()


WEB_FAULT_AT = 4  # the web app's 4th PutObject fails: S3 did not take that upload


@scenario(timeout=85)
def web_burst(ctx: CheckContext) -> dict[str, Any]:
    """16 uploads from 8 clients at once against the learner's web app, one of whose S3
    writes fails (the tutor's fault); then the function's drain."""
    _require_pipeline(ctx)
    _fresh_start(ctx)
    since = time.time()
    port = ctx.runner.free_port()  # carried to the web app when it runs in a sandbox
    ctx.runner.inject(faults.api_error("s3", "PutObject", nth=[WEB_FAULT_AT],
                                       code=TRANSIENT_ERROR,
                                       message="We encountered an internal error. Please "
                                               "try again."))
    try:
        return _burst_webapp(ctx, port, since)
    finally:  # the web app reads its fault plan when it first calls AWS: keep it till then
        ctx.runner.set_faults([])


def _burst_webapp(ctx: CheckContext, port: int, since: float) -> dict[str, Any]:
    app = ctx.runner.start("webapp.py", str(port))
    ready = ctx.runner.wait_until(lambda: _alive(port) or not app.alive, timeout=20)
    if not ready or not app.alive:
        raise ScenarioFailed("`webapp.py` did not answer GET /health on its port within 20 s",
                             app.output(), fix="run `python webapp.py 8005` and read the error")
    rng = random.Random(port)
    files = [(f"doc {i}.txt", _text(rng, rng.randint(8_000, 30_000))) for i in range(16)]
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    pending = list(enumerate(files))

    def client() -> None:
        while True:
            with lock:
                if not pending:
                    return
                index, (name, data) = pending.pop()
            started = time.perf_counter()
            try:
                status, body, seconds = _http(port, "POST", "/uploads", data,
                                              {"X-Filename": name})
            except (OSError, http.client.HTTPException) as exc:  # e.g. closed, no answer
                status, body = 0, json.dumps({"error": repr(exc)}).encode()
                seconds = time.perf_counter() - started
            try:
                answer = json.loads(body or b"{}")
                answer = answer if isinstance(answer, dict) else {}
            except ValueError:
                answer = {}
            with lock:
                results.append({"index": index, "status": status, "seconds": seconds,
                                "upload_id": answer.get("upload_id"),
                                "sha256": hashlib.sha256(data).hexdigest()})

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    app.stop()
    fired = app.faults("api_error")
    accepted = {str(r["upload_id"]): r["sha256"] for r in results
                if r["status"] == 202 and r["upload_id"]}
    stored = {i for i in accepted if _keys(ctx, f"incoming/{i}/", UPLOADS)}
    lost = sorted(set(accepted) - stored)
    expected = {i: accepted[i] for i in stored}
    finished = _wait_burst(ctx, set(expected), since) if expected else False
    latencies = [r["seconds"] for r in results]
    return {"sent": len(files), "statuses": sorted(r["status"] for r in results),
            "accepted": len(accepted), "stored": len(stored), "lost": lost,
            "fired": len(fired), "finished": finished,
            "p50_ms": round(1000 * percentile(latencies, 0.5), 1) if latencies else None,
            "p95_ms": round(1000 * percentile(latencies, 0.95), 1) if latencies else None,
            "max_ms": round(1000 * max(latencies), 1) if latencies else None,
            "verdicts": _verify(ctx, expected), "output": app.output(15),
            "logs": function_logs(ctx, since)}


def _wait_burst(ctx: CheckContext, ids: set[str], since: float) -> bool:
    """Until every stored upload has its result and the queue is empty, or what is left in
    flight is no longer worked on (it waits for the visibility timeout). Bounded."""
    held = Deliveries(ctx.endpoint, ctx.name(QUEUE), since - 1.0)
    function_timeout = float((_function(ctx) or {}).get("Timeout", 3))
    state = {"sig": (), "at": time.monotonic(), "done": False}

    def settled() -> bool:
        done = _ids(_keys(ctx, "done/"), "done", ".gz") | \
            _ids(_keys(ctx, "rejected/"), "rejected", ".json")
        depth = _queue_depth(ctx, QUEUE)
        held.read()
        if ids <= done and depth["visible"] == 0 and depth["in_flight"] == 0:
            state["done"] = True
            return True
        sig = (len(done & ids), depth["visible"], depth["in_flight"])
        if sig != state["sig"]:
            state["sig"], state["at"] = sig, time.monotonic()
        if depth["visible"] != 0:
            return False
        idle = held.idle_for()
        unchanged = time.monotonic() - float(state["at"])
        if idle is None:
            return unchanged > 8
        if depth["in_flight"] == 0:  # nothing left at all (give S3's last events a moment)
            return unchanged > 3
        if unchanged < 1.5:
            return False
        # Every batch Lambda received has returned: what is held waits for the visibility
        # timeout. (Or an invocation that never logged, bounded.)
        return (_finished_invocations(ctx, since) >= held.receives
                or idle > function_timeout + 20.0)

    ctx.runner.wait_until(settled, timeout=60, interval=1.0)
    return bool(state["done"])


def _alive(port: int) -> bool:
    try:
        return _http(port, "GET", "/health", timeout=1.0)[0] == 200
    except OSError:
        return False


@check
def answers_202(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    sent, statuses, fired = result["sent"], result["statuses"], result["fired"]
    refused = [s for s in statuses if s != 202]
    expected = (f"all {sent} uploads answered `202 Accepted` with an `upload_id` — except one "
                "the web app could not store (the tutor made S3 fail one PutObject): that one "
                "must get an error (5xx), never 202")
    evidence = {"statuses": statuses, "fired": fired, "lost": result["lost"],
                "webapp_output": result["output"]}
    if result["lost"] and result["stored"] == 0:
        return failed(expected, f"{result['accepted']} uploads answered 202, but nothing under "
                      f"`{bucket(ctx, UPLOADS)}/incoming/<upload_id>/` for any of them: store "
                      "each upload there (the key the bucket notification announces, and the "
                      "function reads the id from)", **evidence)
    if result["lost"]:
        return failed(expected, f"202 for {len(result['lost'])} upload(s) that never reached "
                      f"`{bucket(ctx, UPLOADS)}/incoming/<upload_id>/` (e.g. "
                      f"{result['lost'][0]}): your web app "
                      "answered 202 although storing the file failed — the upload is lost "
                      "and the client was told it is safe; answer 503 when put_object fails",
                      **evidence)
    others = sorted({s for s in refused if 200 <= s < 300})
    if others:
        return failed(expected, f"statuses {statuses}: {others} is not 202 (`201 Created` "
                      "and `200 OK` say the work is done; `202 Accepted` says it will be)",
                      **evidence)
    wrong = [s for s in refused if 0 < s < 500]
    if wrong or len(refused) > fired:
        return partial(result["accepted"] / sent, expected,
                       f"{result['accepted']} answered 202 (statuses {statuses}); the tutor "
                       f"made {fired} store(s) fail", **evidence)
    return passed(expected, f"{result['accepted']} x 202 and {len(refused)} error(s) for the "
                  f"failed store (statuses {statuses})", **evidence)


@check
def fast_answers(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    scan_ms = 1000 * ctx.clock.seconds("scan")
    # The scan is a sleep: an app that scans in the request can never answer under it,
    # however fast the machine, while an offloaded app stays under it even on a loaded one
    # (the reference: p95 about 200 ms idle, 830 ms with the whole test suite running
    # beside it). A fixed 500 ms rejected the reference on a busy machine.
    budget = float(ctx.params.get("p95_ms", scan_ms))
    p95 = result["p95_ms"]
    found = (f"p95 {p95} ms (p50 {result['p50_ms']} ms, max {result['max_ms']} ms) for "
             f"{result['sent']} uploads from 8 clients at once")
    if p95 is None:
        return failed(f"p95 response time under {budget:g} ms", "no answer at all")
    if (result["p50_ms"] or 0) > scan_ms:
        found += ": every request still waits for the scan — store the file and answer"

    return expect(p95 < budget and result["accepted"] > 0,
                  f"p95 response time under {budget:g} ms for the uploads, the "
                  f"{scan_ms:g} ms scan ({ctx.clock.explain('scan')}): no upload waits "
                  "for the scan", found,
                  p50_ms=result["p50_ms"], p95_ms=p95, max_ms=result["max_ms"])


@check
def burst_processed(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    verdicts = result["verdicts"]
    ok = sum(1 for v in verdicts.values() if v == "ok")
    wrong = {i: v for i, v in verdicts.items() if v != "ok"}
    expected = (f"every upload the web app stored (of {result['sent']}) processed by the "
                "function into `done/<upload_id>.gz`, the queue drained")
    if not verdicts:
        return failed(expected, f"no upload under `{bucket(ctx, UPLOADS)}/incoming/"
                      "<upload_id>/` for any `upload_id` the web app answered with (statuses "
                      f"{result['statuses']})", function_logs=result["logs"])
    return partial(ok / len(verdicts), expected,
                   f"{ok} of {len(verdicts)} processed"
                   + (f"; {dict(list(wrong.items())[:4])}" if wrong else "")
                   + ("" if result["finished"] else "; the queue did not drain in time")
                   + _first_error(result["logs"]),
                   verdicts=verdicts, function_logs=result["logs"])
