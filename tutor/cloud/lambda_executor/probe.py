"""Can Lambda functions run at an endpoint? Create, invoke and delete a trivial one."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any

from tutor.cloud import clients
from tutor.cloud.endpoint import Endpoint
from tutor.errors import TutorError

PROBE_CODE = "def handler(event, context):\n    return {'echo': event.get('probe')}\n"
ROLE = "arn:aws:iam::000000000000:role/tutor-lambda-probe"


def probe_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("probe.py", PROBE_CODE)
    return buffer.getvalue()


def _wait_active(lam: Any, name: str, deadline: float) -> tuple[str, str]:
    while True:
        conf = lam.get_function_configuration(FunctionName=name)
        state = str(conf.get("State", ""))
        if state != "Pending" or time.monotonic() > deadline:
            return state, str(conf.get("StateReason", ""))
        time.sleep(0.2)


def run(endpoint: Endpoint, timeout: float = 20.0) -> tuple[bool, str]:
    """(True, how long it took) when a Python function ran; (False, why) otherwise."""
    from botocore.exceptions import BotoCoreError, ClientError

    ep = endpoint
    try:
        lam = clients.client("lambda", ep, read_timeout=timeout, max_attempts=1)
    except TutorError as exc:
        return False, exc.message
    name = f"tutor-probe-{uuid.uuid4().hex[:10]}"
    token = uuid.uuid4().hex
    start = time.monotonic()
    created = False
    try:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                            Handler="probe.handler", Code={"ZipFile": probe_zip()},
                            Timeout=max(1, int(timeout) - 2))
        created = True
        state, reason = _wait_active(lam, name, start + timeout)
        if state != "Active":
            return False, f"a test function did not become active ({state}: {reason})"
        reply = lam.invoke(FunctionName=name, Payload=json.dumps({"probe": token}))
        body = reply["Payload"].read()
        if reply.get("FunctionError"):
            return False, f"a test function failed: {body.decode(errors='replace')[:200]}"
        if json.loads(body or b"null") != {"echo": token}:
            return False, f"a test function answered unexpectedly: {body[:200]!r}"
        took = time.monotonic() - start
        return True, f"a Python test function ran ({took:.1f} s incl. cold start)"
    except (ClientError, BotoCoreError, ValueError) as exc:
        return False, f"could not run a test function: {exc}"
    finally:
        if created:
            try:
                lam.delete_function(FunctionName=name)
            except (ClientError, BotoCoreError):
                pass
