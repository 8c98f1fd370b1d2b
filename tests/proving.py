"""Every lab proven once per test session, in a process of its own beside the suite.

The pool (the labs' self-tests in learner accounts and every mistakes-corpus case, what
`tutor dev check` runs) is most of the suite's work and mostly waits on LocalStack and
on learner programs. It starts as soon as collection shows a test that needs it and runs
while the rest of the suite does, on an embedded LocalStack of its own (or, with
TUTOR_TEST_ENDPOINT, on that one in accounts no other test uses), so that nothing a test
does to its LocalStack, its endpoint or TUTOR_HOME reaches it. The tests that read it
run last (conftest reorders them) and wait for its results.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The pool's accounts when it shares the developer's LocalStack (TUTOR_TEST_ENDPOINT):
# slot k uses this + k, far from the default account and the tests' own learner ids.
SHARED_BASE_ACCOUNT = "990000000500"


def _warm(found: Any) -> None:
    """One call to each service the labs use (not Kinesis: it starts kinesis-mock), so
    LocalStack loads their providers at boot. On this machine the pool's LocalStack could no
    longer import SNS's provider modules when SNS was first used half an hour in (`No module
    named 'localstack.utils.analytics.metrics'`; every other service, loaded early, kept
    working; the cause is not found). A failed warm-up call is left to the labs to report."""
    from tutor.cloud.clients import client

    for service, call in (("sqs", "list_queues"), ("sns", "list_topics"),
                          ("lambda", "list_functions"), ("events", "list_rules"),
                          ("cloudwatch", "describe_alarms"), ("logs", "describe_log_groups"),
                          ("stepfunctions", "list_state_machines"), ("iam", "list_roles"),
                          ("s3", "list_buckets")):
        try:
            getattr(client(service, found), call)()
        except Exception as exc:  # reported by the labs that need the service
            print(f"warm-up of {service} failed: {exc}", file=sys.stderr)


def prove_all(parallel: int, given_endpoint: str) -> tuple[list[Any], float]:
    """Run in the pool's process: prove every lab, return (results, seconds)."""
    home = Path(tempfile.mkdtemp(prefix="tutor-test-pool-"))
    os.environ["TUTOR_HOME"] = str(home)
    from tutor import locations
    from tutor.cloud import endpoint as ep
    from tutor.engine.labs.loader import lab_dirs, load_lab
    from tutor.engine.labs.pool import run_corpora

    labs = [load_lab(path) for path in lab_dirs(locations.labs_dir())]
    embedded = None
    if given_endpoint:
        found = dataclasses.replace(ep.Endpoint(given_endpoint, "TUTOR_TEST_ENDPOINT"),
                                    account=SHARED_BASE_ACCOUNT)
    else:
        from tutor.cloud.embedded import EmbeddedLocalStack

        embedded = EmbeddedLocalStack(data=home / "localstack")
        found = embedded.start()
        _warm(found)
    try:
        started = time.monotonic()
        results = run_corpora(labs, found, parallel=parallel, selftests=("learner",))
        return results, time.monotonic() - started
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(home, ignore_errors=True)
