"""Lab 06's reference deploy runs three times; its mapping must end up Enabled.

Stock LocalStack 4.14: UpdateEventSourceMapping replaces the mapping's worker, and the
replaced worker, when its loop ends, writes "Disabled" over the new worker's state (in
two of three rounds, measured). The fix lives in tutor/cloud/lambda_executor/compat.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tutor import locations
from tutor.cloud.clients import client
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.api import apply_solution, start_lab
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace


@pytest.mark.localstack
@pytest.mark.slow
def test_redeployed_mapping_stays_enabled(localstack: Endpoint, tmp_path: Path) -> None:
    lab = load_lab(locations.labs_dir() / "06-lambda-scaling")
    lam = client("lambda", localstack)
    try:
        for _ in range(2):
            start_lab(lab, force=True)
            apply_solution(lab, localstack, None)  # runs deploy.py three times
            states = []
            for _ in range(6):
                time.sleep(0.5)
                states.append([m["State"] for m in lam.list_event_source_mappings(
                    FunctionName="lab06-ingest")["EventSourceMappings"]
                    if m["State"] != "Deleting"])
            assert states[-3:] == [["Enabled"]] * 3, states
            Namespace(lab.prefix, localstack).delete()
    finally:
        Namespace(lab.prefix, localstack).delete()
