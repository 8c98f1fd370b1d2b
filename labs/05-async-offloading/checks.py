"""Checks for lab 05: asynchronous task offloading (web app -> S3 -> SQS -> Lambda -> S3)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import random
import socket
import string
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote_plus

from tutor.engine.labs.checks import (
    CheckContext,
    Outcome,
    ScenarioFailed,
    check,
    expect,
    failed,
    partial,
    scenario,
)

UPLOADS, PROCESSED = "uploads", "processed"
QUEUE, DLQ = "upload-events", "upload-events-dlq"
FUNCTION = "compress"
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


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
    return {"group": group, "errors": errors[:15], "tail": messages[-lines:]}


def _queue_depth(ctx: CheckContext, suffix: str) -> dict[str, int]:
    url = ctx.queue_url(suffix)
    if url is None:
        return {"visible": -1, "in_flight": -1}
    attrs = ctx.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}


def _keys(ctx: CheckContext, prefix: str) -> list[str]:
    s3 = ctx.client("s3")
    keys: list[str] = []
    token: str | None = None
    for _ in range(20):
        page = s3.list_objects_v2(Bucket=bucket(ctx, PROCESSED), Prefix=prefix,
                                  **({"ContinuationToken": token} if token else {}))
        keys.extend(o["Key"] for o in page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            break
    return keys


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
    return f"; the function logged: {errors[0][:160]}" if errors else ""


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


def _wait_processed(ctx: CheckContext, done_ids: list[str], rejected_ids: list[str],
                    timeout: float) -> bool:
    """Until every result exists and the queue holds nothing (bounded)."""
    def finished() -> bool:
        done = {k[len("done/"):-len(".gz")] for k in _keys(ctx, "done/")}
        rejected = {k[len("rejected/"):-len(".json")] for k in _keys(ctx, "rejected/")}
        depth = _queue_depth(ctx, QUEUE)
        return (set(done_ids) <= done and set(rejected_ids) <= rejected
                and depth["visible"] == 0 and depth["in_flight"] == 0)

    return ctx.runner.wait_until(finished, timeout=timeout, interval=1.0)


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
def queue_with_dlq(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes(QUEUE)
    if attrs is None:
        return failed(f"the queue `{ctx.name(QUEUE)}`", "none")
    raw = attrs.get("RedrivePolicy")
    if not raw:
        return partial(0.3, f"`{ctx.name(QUEUE)}` to have a redrive policy to "
                       f"`{ctx.name(DLQ)}` (maxReceiveCount <= 5)", "no redrive policy",
                       attributes=attrs)
    policy = json.loads(raw)
    target_ok = str(policy.get("deadLetterTargetArn")) == ctx.queue_arn(DLQ) and \
        ctx.queue_url(DLQ) is not None
    count_ok = int(policy.get("maxReceiveCount", 0)) <= 5
    return partial(0.3 + 0.4 * target_ok + 0.3 * count_ok,
                   f"`{ctx.name(QUEUE)}` to send poison messages to an existing "
                   f"`{ctx.name(DLQ)}` after at most 5 receives",
                   f"target {policy.get('deadLetterTargetArn')}, maxReceiveCount "
                   f"{policy.get('maxReceiveCount')}", redrive_policy=policy)


@check
def queue_policy_for_s3(ctx: CheckContext) -> Outcome:
    attrs = ctx.queue_attributes(QUEUE)
    if attrs is None:
        return failed(f"the queue `{ctx.name(QUEUE)}`", "none")
    raw = attrs.get("Policy")
    expected = (f"a queue policy allowing `s3.amazonaws.com` to `sqs:SendMessage`, with an "
                f"`aws:SourceArn` condition naming `arn:aws:s3:::{bucket(ctx, UPLOADS)}`")
    if not raw:
        return failed(expected, "no queue policy")
    policy = json.loads(raw)
    best = 0.0
    for statement in _as_list(policy.get("Statement", [])):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) \
            else []
        actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        if statement.get("Effect") != "Allow" or "s3.amazonaws.com" not in services or \
                not {"sqs:sendmessage", "sqs:*"} & set(actions):
            continue
        condition = json.dumps(statement.get("Condition", {}))
        scoped = f"arn:aws:s3:::{bucket(ctx, UPLOADS)}" in condition and "SourceArn" in condition
        best = max(best, 1.0 if scoped else 0.5)
    found = {1.0: "a statement for S3 scoped to the upload bucket",
             0.5: "a statement for S3 without an aws:SourceArn condition (any bucket of "
                  "any account could write to your queue)",
             0.0: "no statement that lets S3 send"}[best]
    return partial(best, expected, found, policy=policy)


@check
def bucket_notification(ctx: CheckContext) -> Outcome:
    if not _bucket_exists(ctx, UPLOADS):
        return failed(f"the bucket `{bucket(ctx, UPLOADS)}`", "none")
    config = ctx.client("s3").get_bucket_notification_configuration(Bucket=bucket(ctx, UPLOADS))
    queues = config.get("QueueConfigurations", [])
    expected = (f"`{bucket(ctx, UPLOADS)}` to announce s3:ObjectCreated events under "
                f"`incoming/` on `{ctx.name(QUEUE)}`")
    mine = [q for q in queues if q.get("QueueArn") == ctx.queue_arn(QUEUE)]
    if not mine:
        return failed(expected, f"queue notifications to {[q.get('QueueArn') for q in queues]}"
                      if queues else "no queue notification", configuration=queues)
    entry = mine[0]
    created = any(str(e).startswith("s3:ObjectCreated") for e in entry.get("Events", []))
    rules = (entry.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
    prefixed = any(r.get("Name", "").lower() == "prefix" and r.get("Value") == "incoming/"
                   for r in rules)
    return partial(0.4 + 0.3 * created + 0.3 * prefixed, expected,
                   f"events {entry.get('Events')}, filter {rules or 'none'}",
                   configuration=entry)


# --- step 2: the function and its mapping ---------------------------------------------


@check
def function_ready(ctx: CheckContext) -> Outcome:
    conf = _function(ctx)
    if conf is None:
        return failed(f"a function `{ctx.name(FUNCTION)}` (deploy it with `python deploy.py`)",
                      "none")
    limit = ctx.clock.seconds("function_timeout")
    parts = {
        "Active": conf.get("State") == "Active",
        "a Python runtime": str(conf.get("Runtime", "")).startswith("python3"),
        f"a role named {ctx.prefix}...": f":role/{ctx.prefix}" in str(conf.get("Role")),
        f"Timeout <= {limit:g} s": 0 < int(conf.get("Timeout", 0)) <= limit,
    }
    missing = [name for name, ok in parts.items() if not ok]
    return partial(sum(parts.values()) / len(parts),
                   f"`{ctx.name(FUNCTION)}` " + ", ".join(parts),
                   f"state {conf.get('State')}, runtime {conf.get('Runtime')}, role "
                   f"{conf.get('Role')}, timeout {conf.get('Timeout')} s"
                   + (f" (not: {', '.join(missing)})" if missing else ""),
                   configuration={k: conf.get(k) for k in ("State", "Runtime", "Role",
                                                           "Handler", "Timeout")})


@check
def function_role(ctx: CheckContext) -> Outcome:
    conf = _function(ctx)
    if conf is None:
        return failed(f"a function `{ctx.name(FUNCTION)}`", "none")
    role = str(conf.get("Role", "")).rsplit("/", 1)[-1]
    iam = ctx.client("iam")
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except iam.exceptions.NoSuchEntityException:
        return failed(f"the function's role `{role}` to exist in IAM (LocalStack accepts "
                      "any ARN; AWS does not)", "no such role")
    trust = found.get("AssumeRolePolicyDocument", {})
    trust = json.loads(trust) if isinstance(trust, str) else trust
    services = [str(s) for st in _as_list(trust.get("Statement", []))
                for s in _as_list((st.get("Principal") or {}).get("Service", []))]
    return expect("lambda.amazonaws.com" in services and role.startswith(ctx.prefix),
                  f"a role named `{ctx.prefix}...` that `lambda.amazonaws.com` may assume",
                  f"`{role}` trusted by {services or 'nobody'}", trust=trust)


@check
def event_source_mapping(ctx: CheckContext) -> Outcome:
    found = _mappings(ctx)
    if not found:
        return failed(f"an event source mapping from `{ctx.name(QUEUE)}` to "
                      f"`{ctx.name(FUNCTION)}`", "none")
    mapping = found[0]
    enabled = mapping.get("State") in ("Enabled", "Enabling", "Creating", "Updating")
    batch_ok = 1 <= int(mapping.get("BatchSize", 10)) <= 10
    reports = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
    return partial((enabled + batch_ok + reports) / 3,
                   "an Enabled mapping with BatchSize <= 10 and FunctionResponseTypes "
                   "[ReportBatchItemFailures]",
                   f"state {mapping.get('State')}, BatchSize {mapping.get('BatchSize')}, "
                   f"FunctionResponseTypes {mapping.get('FunctionResponseTypes', [])}",
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
    return expect(visibility >= 6 * timeout,
                  f"the queue's VisibilityTimeout >= 6 x the function Timeout "
                  f"(6 x {timeout} = {6 * timeout} s)", f"{visibility} s",
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


@scenario(timeout=75)
def s3_uploads(ctx: CheckContext) -> dict[str, Any]:
    """Uploads put straight into S3 (names with spaces and +), two bad ones, the s3:TestEvent
    S3 sends, and one notification delivered twice (S3 and SQS are at-least-once)."""
    _require_pipeline(ctx)
    dlq_before = _fresh_start(ctx)
    since = time.time()
    run = uuid.uuid4().hex[:6]
    rng = random.Random(run)
    uploads = bucket(ctx, UPLOADS)
    sqs, s3 = ctx.client("sqs"), ctx.client("s3")
    queue_url = str(ctx.queue_url(QUEUE))
    sqs.send_message(QueueUrl=queue_url, MessageBody=_test_event(uploads))
    valid: dict[str, str] = {}
    keys: dict[str, str] = {}
    for i in range(6):
        upload_id = f"{run}v{i}"
        name = [f"report {i}.txt", f"notes+v{i}.txt", f"plain{i}.txt"][i % 3]
        data = _text(rng, rng.randint(4_000, 40_000))
        keys[upload_id] = f"incoming/{upload_id}/{name}"
        s3.put_object(Bucket=uploads, Key=keys[upload_id], Body=data)
        valid[upload_id] = hashlib.sha256(data).hexdigest()
    invalid = {f"{run}x0": b"", f"{run}x1": EICAR.encode()}
    for upload_id, data in invalid.items():
        s3.put_object(Bucket=uploads, Key=f"incoming/{upload_id}/bad.txt", Body=data)
    duplicate = next(iter(valid))
    sqs.send_message(QueueUrl=queue_url, MessageBody=_s3_event(uploads, keys[duplicate], 1))
    finished = _wait_processed(ctx, list(valid), list(invalid), timeout=55)
    done_keys = [k for k in _keys(ctx, f"done/{run}")]
    rejected: dict[str, Any] = {}
    for upload_id in invalid:
        try:
            body = s3.get_object(Bucket=bucket(ctx, PROCESSED),
                                 Key=f"rejected/{upload_id}.json")["Body"].read()
            rejected[upload_id] = json.loads(body)
        except (s3.exceptions.ClientError, ValueError):
            rejected[upload_id] = None
    return {"finished": finished, "valid": list(valid), "invalid": list(invalid),
            "duplicate": duplicate, "verdicts": _verify(ctx, valid), "done_keys": done_keys,
            "rejected": rejected, "queue": _queue_depth(ctx, QUEUE),
            "dlq_before": dlq_before, "dlq": _queue_depth(ctx, DLQ),
            "logs": function_logs(ctx, since)}


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
                   + _first_error(result["logs"]),
                   verdicts=verdicts, function_logs=result["logs"])


@check
def uploads_rejected(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    rejected = result["rejected"]
    done = {k[len("done/"):-len(".gz")] for k in result["done_keys"]}
    ok = [i for i, r in rejected.items() if r and r.get("reason") and i not in done]
    return partial(len(ok) / len(rejected),
                   f"the {len(rejected)} bad uploads (empty, EICAR) recorded as "
                   "`rejected/<upload_id>.json` with a `reason`, and not stored",
                   f"{len(ok)} recorded: {rejected}", rejected=rejected,
                   function_logs=result["logs"])


@check
def duplicates_idempotent(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    expected = {f"done/{i}.gz" for i in result["valid"]}
    found = set(result["done_keys"])
    extra = sorted(found - expected)
    dup = [k for k in found if k.startswith(f"done/{result['duplicate']}")]
    if not found:
        return failed("one result object per upload although one notification arrived "
                      "twice", "no result at all", function_logs=result["logs"])
    return expect(not extra and len(dup) == 1,
                  "exactly one object per upload in `done/` although the notification of "
                  f"`{result['duplicate']}` arrived twice (same upload -> same key)",
                  f"{len(found)} objects for {len(expected)} uploads"
                  + (f", extra {extra[:4]}" if extra else ""),
                  done_keys=sorted(found), function_logs=result["logs"])


@check
def queue_drained(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("s3_uploads")
    queue, dlq = result["queue"], result["dlq"]
    left = queue["visible"] + queue["in_flight"]
    new_dead = dlq["visible"] + dlq["in_flight"] - result["dlq_before"]["visible"] - \
        result["dlq_before"]["in_flight"]
    errors = result["logs"]["errors"]
    return expect(left == 0 and new_dead <= 0 and result["finished"],
                  "every message deleted, the s3:TestEvent included (nothing left in "
                  f"`{ctx.name(QUEUE)}`, nothing new in its DLQ)",
                  f"{queue['visible']} waiting, {queue['in_flight']} in flight (back after "
                  f"the visibility timeout), {max(0, new_dead)} new in the DLQ"
                  + (f"; the function logged {len(errors)} error lines, first: "
                     f"{errors[0][:160]}" if errors else ""),
                  queue=queue, dlq=dlq, function_logs=result["logs"])


# --- step 4: the web app answers at once ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@scenario(timeout=85)
def web_burst(ctx: CheckContext) -> dict[str, Any]:
    """16 uploads from 8 clients at once against the learner's web app; then the drain."""
    _require_pipeline(ctx)
    _fresh_start(ctx)
    since = time.time()
    port = _free_port()
    app = ctx.runner.start("webapp.py", str(port))
    ready = ctx.runner.wait_until(lambda: _alive(port) or not app.alive, timeout=10)
    if not ready or not app.alive:
        raise ScenarioFailed("`webapp.py` did not answer GET /health on its port",
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
            try:
                status, body, seconds = _http(port, "POST", "/uploads", data,
                                              {"X-Filename": name})
                answer = json.loads(body or b"{}")
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status, answer, seconds = 0, {"error": repr(exc)}, 10.0
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
    accepted = {r["upload_id"]: r["sha256"] for r in results
                if r["status"] == 202 and r["upload_id"]}
    finished = _wait_processed(ctx, list(accepted), [], timeout=50) if accepted else False
    latencies = [r["seconds"] for r in results]
    return {"sent": len(files), "statuses": sorted(r["status"] for r in results),
            "accepted": len(accepted), "finished": finished,
            "p50_ms": round(1000 * _percentile(latencies, 0.5), 1) if latencies else None,
            "p95_ms": round(1000 * _percentile(latencies, 0.95), 1) if latencies else None,
            "max_ms": round(1000 * max(latencies), 1) if latencies else None,
            "verdicts": _verify(ctx, accepted), "output": app.output(15),
            "logs": function_logs(ctx, since)}


def _alive(port: int) -> bool:
    try:
        return _http(port, "GET", "/health", timeout=1.0)[0] == 200
    except OSError:
        return False


@check
def answers_202(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    return partial(result["accepted"] / result["sent"],
                   f"all {result['sent']} uploads answered `202 Accepted` with an "
                   "`upload_id`", f"{result['accepted']} (statuses {result['statuses']})",
                   statuses=result["statuses"], webapp_output=result["output"])


@check
def fast_answers(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    budget = float(ctx.params.get("p95_ms", 500))
    scan_ms = 1000 * ctx.clock.seconds("scan")
    p95 = result["p95_ms"]
    found = (f"p95 {p95} ms (p50 {result['p50_ms']} ms, max {result['max_ms']} ms) for "
             f"{result['sent']} uploads from 8 clients at once")
    if p95 is None:
        return failed(f"p95 response time <= {budget:g} ms", "no answer at all")
    return expect(p95 <= budget and result["accepted"] == result["sent"],
                  f"p95 response time <= {budget:g} ms for accepted uploads, well under "
                  f"the {scan_ms:g} ms scan ({ctx.clock.explain('scan')})", found,
                  p50_ms=result["p50_ms"], p95_ms=p95, max_ms=result["max_ms"])


@check
def burst_processed(ctx: CheckContext) -> Outcome:
    result = ctx.scenario("web_burst")
    verdicts = result["verdicts"]
    ok = sum(1 for v in verdicts.values() if v == "ok")
    wrong = {i: v for i, v in verdicts.items() if v != "ok"}
    return partial(ok / result["sent"],
                   f"every one of the {result['sent']} uploads processed by the function "
                   "into `done/<upload_id>.gz`, the queue drained",
                   f"{ok} processed" + (f"; {dict(list(wrong.items())[:4])}" if wrong else "")
                   + ("" if result["finished"] else "; the queue did not drain in time")
                   + _first_error(result["logs"]),
                   verdicts=verdicts, function_logs=result["logs"])
