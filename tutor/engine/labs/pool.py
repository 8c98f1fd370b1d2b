"""The proving pool: the cases of several labs, and with them the labs' self-tests, run in
`parallel` slots, each slot in a LocalStack account of its own (`corpus.account_for`)."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.corpus import ACCOUNT_BASE, CorpusResult, account_for
from tutor.engine.labs.corpus_case import CaseResult, run_case, shared_setup
from tutor.engine.labs.corpus_spec import Case, load_cases
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.selftest import SelfTestResult, selftest_lab


def run_corpus(lab: Lab, endpoint: Endpoint, *, parallel: int = 3,
               only: list[str] | None = None,
               on_case: Callable[[CaseResult], None] | None = None) -> CorpusResult:
    """Prove every case of `lab` (or those in `only`), `parallel` at a time."""
    return run_corpora([lab], endpoint, parallel=parallel, only=only, on_case=on_case)[0]


SelfTestWhere = Literal["default", "learner"]


@dataclass(frozen=True)
class _Job:
    lab: Lab
    index: int
    case: Case | None = None  # None: the lab's self-test
    where: SelfTestWhere = "default"  # a self-test's account: the endpoint's, or its own

    @property
    def order(self) -> tuple[int, int]:
        """Longest first: self-tests (those in the shared default account, which run one
        at a time, before all), then cases with scenarios, then the rest."""
        if self.case is None:
            return (0 if self.where == "default" else 1, self.index)
        return (2 if self.lab.step(self.case.spec.step).scenarios else 3, 0)


def run_corpora(labs: list[Lab], endpoint: Endpoint, *, parallel: int = 3,
                only: list[str] | None = None, cases: bool = True,
                selftests: tuple[SelfTestWhere, ...] = (),
                on_case: Callable[[CaseResult], None] | None = None) -> list[CorpusResult]:
    """Prove the cases of several labs, and with `selftests` the labs themselves, in one
    pool of `parallel` slots.

    Slot k works in an account of its own, one case at a time: slot 0 in the endpoint's,
    unless self-tests run there ("default": the account a solo learner has). A "learner"
    self-test runs in a fresh account of its own, as a classroom learner's. Self-tests in
    the endpoint's account run one at a time (labs share it); cases with scenarios go
    next (they take longest), and a slot prefers a case that can share the cloud set-up it
    already holds (same lab and step, no cloud changes of its own).
    """
    started = time.monotonic()
    results: dict[str, CorpusResult] = {}
    queue: list[_Job] = []
    for position, lab in enumerate(labs):
        results[lab.id] = CorpusResult(lab.id)
        queue.extend(_Job(lab, position, where=where) for where in selftests)
        if not cases:
            continue
        found, problems = load_cases(lab)
        if only:
            found = [c for c in found if c.id in only]
        results[lab.id].problems = [f"{lab.id}: {p}" for p in problems]
        queue.extend(_Job(lab, index, case) for index, case in enumerate(found))
    queue.sort(key=lambda job: job.order)
    root = Path(tempfile.mkdtemp(prefix="tutor-corpus-"))
    slots = max(1, min(parallel, len(queue) or 1))
    shift = 1 if "default" in selftests else 0  # the endpoint's account is the self-tests'
    lock = threading.Lock()
    busy: set[str] = set()  # the accounts of the self-tests running now (a case's
    #                          account is its slot's, which no other slot uses)
    Held = tuple[Lab, str]  # the lab and shared set-up key an account holds now

    def account(job: _Job, slot: int) -> Endpoint:
        if job.case is not None:
            return account_for(endpoint, slot + shift)
        if job.where == "default":
            return endpoint
        return dataclasses.replace(endpoint, account=str(ACCOUNT_BASE + 100 + job.index))

    def take(held: Held | None, slot: int) -> _Job | None:
        """The next job this slot may run (None: the queue is empty); waits while the only
        jobs left need an account another slot is using."""
        while True:
            with lock:
                if not queue:
                    return None
                free = [j for j in queue
                        if j.case is not None or account(j, slot).account not in busy]
                if free:
                    picked = next((j for j in free if j.case is not None and held is not None
                                   and j.lab.id == held[0].id
                                   and shared_setup(j.lab, j.case) == held[1]), free[0])
                    queue.remove(picked)
                    if picked.case is None:
                        busy.add(account(picked, slot).account)
                    return picked
            time.sleep(0.5)

    def worker(slot: int) -> None:
        own = account_for(endpoint, slot + shift)
        held: Held | None = None
        while True:
            job = take(held, slot)
            if held is not None and (job is None or job.case is None
                                     or job.lab.id != held[0].id):
                with contextlib.suppress(Exception):  # leave nothing of the last lab
                    Namespace.of(held[0], own).delete()
                held = None
            if job is None:
                return
            here = account(job, slot)
            kind = "case" if job.case is not None else f"selftest-{job.where}"
            scratch = root / f"slot{slot}-{job.lab.spec.number}-{kind}-{job.index}"
            try:
                if job.case is None:
                    try:
                        proven = selftest_lab(job.lab, here, scratch)
                    except Exception as exc:  # a lost LocalStack...: the lab's problem
                        proven = SelfTestResult(job.lab.id, problems=[
                            f"{job.lab.id}: the self-test could not run: "
                            f"{type(exc).__name__}: {exc}"])
                    results[job.lab.id].selftests[job.where] = proven
                    continue
                key = shared_setup(job.lab, job.case)
                reuse = held is not None and key is not None and key == held[1]
                outcome = run_case(job.lab, job.case, here, scratch, reuse=reuse,
                                   keep=key is not None)
                held = (job.lab, key) if key is not None and outcome.report is not None \
                    else None
                with lock:
                    results[outcome.lab_id].results.append(outcome)
                if on_case is not None:
                    on_case(outcome)
            finally:
                if job.case is None:
                    with lock:
                        busy.discard(here.account)

    try:
        with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="tutor-corpus") as pool:
            list(pool.map(worker, range(slots)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.monotonic() - started
    for lab in labs:
        corpus = results[lab.id]
        order = {c.id: i for i, c in enumerate(load_cases(lab)[0])}
        corpus.results.sort(key=lambda r: order.get(r.case.id, 0))
        corpus.seconds = sum(r.seconds for r in corpus.results) / slots if len(labs) > 1 \
            else elapsed
    return [results[lab.id] for lab in labs]
