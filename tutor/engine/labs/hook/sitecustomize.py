"""Hook loaded into learner programs: measures botocore and SQLite, and injects faults.

The scenario runner (and the tutor's Lambda executor) put this directory first on
PYTHONPATH and set:

- TUTOR_MEASURE_FILE: every botocore API call, every SQLite connection opened and closed
  and every transaction committed is appended as one JSON line, flushed at once, so a
  killed program leaves a complete record;
- TUTOR_FAULTS_FILE (+ TUTOR_FAULTS_STATE, a directory): a fault plan (see
  tutor/engine/labs/faults.py). Counters live in the state directory under a file lock,
  so "the 3rd commit" or "the first delete" counts across every process of a scenario.
  With TUTOR_FAULTS_RELOAD=1 (long-lived Lambda runtimes) the plan is re-read when the
  file changes.

Without a fault plan nothing changes the program's behaviour.

The settings, event log and fault plan live in _tutor_hook_core.py and the sqlite3 patch in
_tutor_hook_sqlite.py beside this file. They are loaded by their path, not through
sys.path, so neither the learner's sys.path (its order, a module of the same name) nor a
later change of directory can change what is loaded.
"""

# mypy: ignore-errors
import hashlib
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _sibling(name):
    """The module `name`.py beside this file, loaded once and kept in sys.modules."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


_core = _sibling("_tutor_hook_core")
_sqlite = _sibling("_tutor_hook_sqlite")
INJECTED = _core.INJECTED
_path, _plan_path = _core._path, _core._plan_path
_log, _faults, _fires, _fired = _core._log, _core._faults, _core._fires, _core._fired
_kill_point, _matches = _core._kill_point, _core._matches


# --- botocore ----------------------------------------------------------------------------

_copies = []  # duplicate deliveries waiting for the next ReceiveMessage of this process
_copy_handles = set()


def _patch_botocore():
    try:
        import botocore.client
        from botocore.exceptions import ClientError
    except ImportError:  # a program without boto3: nothing to count
        return
    original = botocore.client.BaseClient._make_api_call

    def api_error(service, operation, params):
        for fault in _faults():
            if fault.get("kind") != "api_error" or not _matches(fault, service, operation,
                                                                  params):
                continue
            per = fault.get("per")
            if _fires(fault, str(params.get(per, "")) if per else ""):
                code = fault.get("code", "InternalError")
                _fired(fault, service=service, op=operation,
                       key=str(params.get(per, "")) if per else "")
                raise ClientError({"Error": {"Code": code,
                                             "Message": f"{fault.get('message') or code} "
                                                        f"({INJECTED})"},
                                   "ResponseMetadata": {
                                       "HTTPStatusCode": int(fault.get("status", 500))}},
                                  operation)

    def batch_failures(service, operation, params):
        """Entries to report as Failed without sending them: {Id: error}."""
        chosen = {}
        for fault in _faults():
            if fault.get("kind") != "batch_fail" or not _matches(fault, service, operation,
                                                                   params):
                continue
            if not _fires(fault):
                continue
            entries = list(params.get("Entries") or [])
            picks = fault.get("entries") or [0]
            for index in picks:
                if 0 <= index < len(entries):
                    chosen[entries[index].get("Id")] = fault.get("code", "InternalError")
            _fired(fault, service=service, op=operation, entries=sorted(chosen))
        return chosen

    def counted(self, operation_name, api_params):
        service = self.meta.service_model.service_name
        if _plan_path:
            api_error(service, operation_name, api_params)
            _kill_point("before", operation_name)
        failing = {}
        params = api_params
        if _plan_path and operation_name in ("SendMessageBatch", "DeleteMessageBatch"):
            failing = batch_failures(service, operation_name, api_params)
            if failing:
                params = dict(api_params)
                params["Entries"] = [e for e in api_params.get("Entries", [])
                                     if e.get("Id") not in failing]
        try:
            if failing and not params["Entries"]:
                response = {"Successful": [], "Failed": [],
                            "ResponseMetadata": {"HTTPStatusCode": 200}}
            else:
                response = original(self, operation_name, params)
        except ClientError as exc:
            if _copy_handles and operation_name == "DeleteMessage" and \
                    api_params.get("ReceiptHandle") in _copy_handles:
                response = {"ResponseMetadata": {"HTTPStatusCode": 200}}  # already gone
            else:
                _log({"kind": "api", "service": service, "op": operation_name,
                      "error": type(exc).__name__,
                      "code": exc.response.get("Error", {}).get("Code", "")})
                raise
        except Exception as exc:
            _log({"kind": "api", "service": service, "op": operation_name,
                  "error": type(exc).__name__})
            raise
        if failing:
            response = dict(response)
            response["Failed"] = list(response.get("Failed", []) or []) + [
                {"Id": entry_id, "SenderFault": False, "Code": code,
                 "Message": f"{code} ({INJECTED})"} for entry_id, code in failing.items()]
        if _copy_handles and operation_name == "DeleteMessageBatch":
            response = _forgive_copies(api_params, response)
        if operation_name == "ReceiveMessage":
            response = _duplicates(response, int(api_params.get("MaxNumberOfMessages", 1)))
        event = {"kind": "api", "service": service, "op": operation_name}
        if operation_name == "ReceiveMessage":
            event["n"] = len(response.get("Messages", []) or [])
            wait = api_params.get("WaitTimeSeconds")
            if wait is not None:
                event["wait"] = wait
        elif operation_name in ("SendMessageBatch", "DeleteMessageBatch"):
            event["n"] = len(response.get("Successful", []) or [])
            event["failed"] = len(response.get("Failed", []) or [])
        if operation_name in ("DeleteMessage", "DeleteMessageBatch"):
            # Which messages a delete names, and which came back in Failed (short digests of
            # the receipt handles): a retry counts only if it names the failed ones again.
            event.update(_delete_handles(api_params, response))
        elif operation_name == "ChangeMessageVisibility":  # how long it asked for
            event["vt"] = api_params.get("VisibilityTimeout")
        elif operation_name == "ChangeMessageVisibilityBatch":
            asked = [e.get("VisibilityTimeout") for e in api_params.get("Entries", []) or []]
            event["vt"] = min((v for v in asked if isinstance(v, int | float)), default=None)
        elif operation_name == "GetRecords":  # how far a consumer has read, in which shard
            records = response.get("Records", []) or []
            event["n"] = len(records)
            event["shard"] = _iterators.pop(api_params.get("ShardIterator"), "")
            if response.get("NextShardIterator"):
                _iterators[response["NextShardIterator"]] = event["shard"]
            if response.get("MillisBehindLatest") is not None:
                event["behind"] = response["MillisBehindLatest"]
            if records:
                event["first"] = str(records[0].get("SequenceNumber", ""))
                event["last"] = str(records[-1].get("SequenceNumber", ""))
        elif operation_name == "GetShardIterator":  # where a consumer starts a shard
            event["shard"] = str(api_params.get("ShardId", ""))
            if response.get("ShardIterator"):
                _iterators[response["ShardIterator"]] = event["shard"]
            event["type"] = str(api_params.get("ShardIteratorType", ""))
            if api_params.get("StartingSequenceNumber") is not None:
                event["from"] = str(api_params["StartingSequenceNumber"])
        _log(event)
        if _plan_path:
            _kill_point("after", operation_name,
                        nonempty=bool(response.get("Messages")) if operation_name ==
                        "ReceiveMessage" else True)
        return response

    botocore.client.BaseClient._make_api_call = counted


# The shard each live Kinesis iterator reads (GetShardIterator, then each NextShardIterator):
# a GetRecords event says its shard, whatever order or threads a consumer reads shards in.
_iterators = {}


def _duplicates(response, wanted):
    """Deliver chosen messages a second time, in a later receive that has room for them
    (SQS standard queues deliver at least once; a receive never returns more than its
    MaxNumberOfMessages)."""
    if not _plan_path:
        return response
    messages = list(response.get("Messages", []) or [])
    room = max(0, wanted - len(messages))
    extra = []
    if _copies and room:
        extra, _copies[:] = _copies[:room], _copies[room:]
    for fault in _faults():
        if fault.get("kind") != "duplicate":
            continue
        for message in messages:
            if _fires(fault):
                _copies.append(dict(message))
                _copy_handles.add(message.get("ReceiptHandle"))
                _fired(fault, message_id=message.get("MessageId"))
    if not extra:
        return response
    response = dict(response)
    response["Messages"] = messages + extra
    return response


def _digest(handle: object) -> str:
    return hashlib.sha1(str(handle).encode()).hexdigest()[:12]


def _delete_handles(params: dict, response: dict) -> dict:
    """`handles`: the digests of the receipt handles a delete names; `failed_handles`: those
    of the entries DeleteMessageBatch answered in Failed."""
    if "ReceiptHandle" in params:
        return {"handles": [_digest(params["ReceiptHandle"])]}
    by_id = {e.get("Id"): e.get("ReceiptHandle") for e in params.get("Entries", []) or []}
    failed = [by_id.get(f.get("Id")) for f in response.get("Failed", []) or []]
    return {"handles": [_digest(h) for h in by_id.values()],
            "failed_handles": [_digest(h) for h in failed if h is not None]}


def _forgive_copies(params, response):
    """Deleting a duplicate whose original is already deleted succeeds, as on SQS."""
    failed = list(response.get("Failed", []) or [])
    if not failed:
        return response
    handles = {e.get("Id"): e.get("ReceiptHandle") for e in params.get("Entries", [])}
    forgiven = [f for f in failed if handles.get(f.get("Id")) in _copy_handles
                and INJECTED not in str(f.get("Message", ""))]
    if not forgiven:
        return response
    response = dict(response)
    response["Failed"] = [f for f in failed if f not in forgiven]
    response["Successful"] = list(response.get("Successful", []) or []) + [
        {"Id": f.get("Id")} for f in forgiven]
    return response


if _path or _plan_path:
    _patch_botocore()
    _sqlite._patch_sqlite()
