"""`probe()` tells `tutor doctor` whether Lambda functions can run at an endpoint."""

from __future__ import annotations

import time

import pytest

from tutor.cloud import clients
from tutor.cloud.embedded import free_port
from tutor.cloud.endpoint import Endpoint
from tutor.cloud.lambda_executor import probe


@pytest.mark.localstack
def test_probe_runs_a_function_and_leaves_nothing(localstack):
    ok, detail = probe(localstack)
    assert ok, detail
    assert "ran" in detail
    names = [f["FunctionName"] for f in clients.client("lambda", localstack)
             .list_functions()["Functions"]]
    assert not [name for name in names if name.startswith("tutor-probe-")]


def test_probe_explains_an_unreachable_endpoint_quickly():
    nowhere = Endpoint(f"http://127.0.0.1:{free_port()}", "test")
    started = time.monotonic()
    ok, detail = probe(nowhere, timeout=5)
    assert not ok
    assert "could not run a test function" in detail
    assert time.monotonic() - started < 10
