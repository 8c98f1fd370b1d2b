"""Fault injection: the failures a pattern exists to survive, made to happen on purpose.

A scenario (or lab.yaml's `faults:` for a scenario) chooses faults; the measurement hook
(`hook/sitecustomize.py`) loaded into every Python learner program, and into Lambda
handlers run by the tutor's executor, makes them happen for real:

    kill          SIGKILL the program before/after an API operation or an SQLite commit
                  (`op: DeleteMessageBatch`, `op: commit`): a crash at the worst moment
    commit_fail   the chosen SQLite commit fails (rolled back, OperationalError)
    batch_fail    chosen entries of SendMessageBatch / DeleteMessageBatch come back in
                  `Failed` (they are not sent / not deleted)
    api_error     a chosen API call fails with an AWS error (e.g. the first PutObject of
                  each object: a transient failure the code must not swallow)
    duplicate     a chosen received message is delivered again in the next receive
                  (SQS standard queues deliver at least once)

`nth` picks occurrences (1-based), counted across every process of the scenario, so
"the first delete" means the first of the whole worker fleet. A fault applies to the
programs started after it was added; `running=True` also to those already running (they
re-read the plan when it changes); `program="worker.py"` limits it to one program. Every
fault that fires is recorded (`fired()`), so a check can say what the tutor did and what
the learner's code did about it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

KINDS = ("kill", "commit_fail", "batch_fail", "api_error", "duplicate")
Kind = Literal["kill", "commit_fail", "batch_fail", "api_error", "duplicate"]


@dataclass(frozen=True)
class Fault:
    """One fault of a plan. Build it with the functions below."""

    kind: Kind
    id: str = ""
    op: str = ""  # API operation (or "commit") it applies to
    service: str = ""  # botocore service name; empty: any
    when: Literal["before", "after"] = "after"  # kill: before or after `op`
    nth: tuple[int, ...] = (1,)  # which occurrences fire (1-based, across processes)
    every: bool = False  # every occurrence fires
    nonempty: bool = False  # kill after ReceiveMessage: count only receives with messages
    entries: tuple[int, ...] = ()  # batch_fail: entry positions that fail
    per: str = ""  # api_error: count occurrences per value of this request parameter
    match: Mapping[str, str] = field(default_factory=dict)  # request parameter globs
    code: str = "InternalError"
    status: int = 500
    message: str = ""
    program: str = ""  # only in this workspace program (e.g. "worker.py"); empty: all
    running: bool = False  # also programs already running when it is added
    since: float = 0.0  # set when added to a plan: programs started before it are spared

    def describe(self) -> str:
        """What the tutor did, in the words a failure message uses."""
        which = "every" if self.every else _ordinal(self.nth)
        if self.kind == "kill":
            at = "SQLite commit" if self.op == "commit" else f"`{self.op}` call"
            return f"crashed the program (SIGKILL) {self.when} its {which} {at}"
        if self.kind == "commit_fail":
            return f"made the {which} SQLite commit fail"
        if self.kind == "batch_fail":
            return f"made entries {list(self.entries)} of the {which} `{self.op}` fail"
        if self.kind == "api_error":
            per = f" for each {self.per}" if self.per else ""
            return f"made the {which} `{self.op}` call{per} fail with {self.code}"
        return f"delivered the {which} received message twice"


def _ordinal(nth: tuple[int, ...]) -> str:
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    return " and ".join(words.get(n, f"{n}th") for n in nth)


def kill(op: str, *, when: Literal["before", "after"] = "after", nth: Iterable[int] = (1,),
         nonempty: bool = False, id: str = "", program: str = "",
         running: bool = False) -> Fault:
    """SIGKILL the learner program before/after its nth `op` (an API operation or
    "commit"): `kill("DeleteMessageBatch")`, `kill("commit", nth=[2])`."""
    return Fault("kill", id, op, when=when, nth=tuple(nth), nonempty=nonempty,
                 program=program, running=running)


def fail_commit(*nth: int, id: str = "", program: str = "", running: bool = False) -> Fault:
    """The chosen SQLite commits fail: `fail_commit(3)`."""
    return Fault("commit_fail", id, "commit", nth=tuple(nth or (1,)), program=program,
                 running=running)


def fail_batch_entries(op: str, entries: Iterable[int] = (0,), *, nth: Iterable[int] = (1,),
                       code: str = "InternalError", id: str = "", program: str = "",
                       running: bool = False) -> Fault:
    """Entries of the nth SendMessageBatch/DeleteMessageBatch come back in `Failed`."""
    return Fault("batch_fail", id, op, "sqs", nth=tuple(nth), entries=tuple(entries),
                 code=code, program=program, running=running)


def api_error(service: str, op: str, *, nth: Iterable[int] = (1,), every: bool = False,
              per: str = "", match: Mapping[str, str] | None = None,
              code: str = "InternalError", status: int = 500, message: str = "",
              id: str = "", program: str = "", running: bool = False) -> Fault:
    """The nth `service.op` call fails with `code` (optionally per request parameter)."""
    return Fault("api_error", id, op, service, nth=tuple(nth), every=every, per=per,
                 match=dict(match or {}), code=code, status=status, message=message,
                 program=program, running=running)


def duplicate(*nth: int, id: str = "", program: str = "", running: bool = False) -> Fault:
    """The nth received message is delivered again in the program's next receive."""
    return Fault("duplicate", id, "ReceiveMessage", "sqs", nth=tuple(nth or (1,)),
                 program=program, running=running)


def from_spec(spec: Mapping[str, Any]) -> Fault:
    """A fault from its lab.yaml form (`{kind: kill, op: DeleteMessage, nth: [1]}`)."""
    data = dict(spec)
    for key in ("nth", "entries"):
        if key in data:
            value = data[key]
            data[key] = tuple(value) if isinstance(value, list | tuple) else (int(value),)
    return Fault(**data)


def _plan_json(faults: Iterable[Fault]) -> str:
    items = []
    for index, fault in enumerate(faults):
        entry = asdict(fault)
        entry["id"] = fault.id or f"f{index}-{fault.kind}"
        entry["nth"], entry["entries"] = list(fault.nth), list(fault.entries)
        entry["match"] = dict(fault.match)
        items.append(entry)
    return json.dumps({"format": 1, "faults": items})


def _stamped(fault: Fault) -> Fault:
    import dataclasses
    import time

    return fault if fault.since else dataclasses.replace(fault, since=time.time())


@dataclass
class FaultPlan:
    """The faults in force for the programs a scenario starts, and their shared counters."""

    root: Path
    faults: list[Fault] = field(default_factory=list)

    @classmethod
    def create(cls, parent: Path | None = None) -> FaultPlan:
        root = Path(tempfile.mkdtemp(prefix="tutor-faults-", dir=parent))
        plan = cls(root)
        plan._write()
        return plan

    @property
    def file(self) -> Path:
        return self.root / "plan.json"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def _write(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(_plan_json(self.faults))
        os.replace(tmp, self.file)

    def set(self, faults: Iterable[Fault]) -> None:
        """Replace the plan. A new plan restarts every count; an empty one (faults off)
        keeps them, so a program still running never sees an `nth=1` fault fire again."""
        self.faults = [_stamped(f) for f in faults]
        if self.faults:
            shutil.rmtree(self.state, ignore_errors=True)
        self._write()

    def add(self, *faults: Fault) -> None:
        self.faults.extend(_stamped(f) for f in faults)
        self._write()

    def env(self) -> dict[str, str]:
        return {"TUTOR_FAULTS_FILE": str(self.file), "TUTOR_FAULTS_STATE": str(self.state),
                "TUTOR_FAULTS_RELOAD": "1"}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def fired(events: Iterable[Mapping[str, Any]], kind: str | None = None) -> list[dict[str, Any]]:
    """The `fault` events among measured events (optionally of one fault kind)."""
    return [dict(e) for e in events if e.get("kind") == "fault"
            and (kind is None or e.get("fault") == kind)]


class LambdaFaults:
    """Faults for one Lambda function run by the tutor's executor (its handler's AWS calls).

    The plan is a file the handler's hook re-reads when it changes, so it applies to warm
    environments too. `discover` returns None when this LocalStack's functions do not run
    the hook (a LocalStack the tutor did not start): checks then skip the fault.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.plan = FaultPlan(root)

    @classmethod
    def discover(cls, endpoint: Any, function: str) -> LambdaFaults | None:
        import urllib.error
        import urllib.request

        from tutor.cloud import guard
        from tutor.cloud.lambda_executor.environ import function_dir
        from tutor.cloud.sqs_trace import FAULTS_PATH

        base = endpoint.url.rstrip("/")
        guard.check(base)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(base + FAULTS_PATH, timeout=3) as resp:
                where = json.loads(resp.read()).get("dir")
        except (urllib.error.URLError, OSError, ValueError, AttributeError):
            return None
        if not where:
            return None
        return cls(function_dir(Path(where), endpoint.account, function))

    def set(self, faults: Iterable[Fault]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.plan.set(faults)

    def clear(self) -> None:
        self.set([])

    def events(self, since: float = 0.0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        try:
            text = (self.root / "measure.jsonl").read_text()
        except OSError:
            return found
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if float(event.get("t", 0)) >= since:
                found.append(event)
        return found

    def fired(self, since: float = 0.0, kind: str | None = None) -> list[dict[str, Any]]:
        return fired(self.events(since), kind)
