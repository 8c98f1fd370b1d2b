"""`tutor learner` and the classroom LocalStack (`tutor localstack up --listen`), for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.cloud import classroom
from tutor.cloud.clients import client
from tutor.cloud.embedded import free_port, service_down, service_state, service_up
from tutor.cloud.endpoint import Endpoint
from tutor.engine.learner import account_for
from tutor.errors import TutorError


def tutor(*args: str, env: dict[str, str] | None = None, timeout: float = 60
          ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if k not in {"TUTOR_ACCOUNT", "TUTOR_LEARNER"}} | (env or {})
    return subprocess.run([sys.executable, "-m", "tutor", *args], env=full, text=True,
                          capture_output=True, timeout=timeout)


def test_learner_cli_set_show_and_force(tutor_home: Path) -> None:
    shown = tutor("learner", "show", "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["account"] == "000000000000"
    done = tutor("learner", "set", "Ada-L")
    assert done.returncode == 0 and account_for("ada-l") in done.stdout
    assert json.loads(tutor("learner", "show", "--json").stdout) == {
        "id": "ada-l", "account": account_for("ada-l"), "source": "progress store",
        "stored_id": "ada-l"}
    refused = tutor("learner", "set", "bob")
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = tutor("learner", "set", "bob", "--force")
    assert forced.returncode == 0 and "stay in LocalStack" in forced.stdout
    bad = tutor("learner", "set", "not valid!")
    assert bad.returncode != 0 and "learner id" in bad.stderr
    # `tutor env` hands the learner's own code the account (no LocalStack needed to print).
    env = tutor("--endpoint", "http://127.0.0.1:9", "env")
    assert f"export AWS_ACCESS_KEY_ID={account_for('bob')}" in env.stdout
    # A shell still holding an older export is warned.
    stale = tutor("learner", "show", env={"TUTOR_ACCOUNT": account_for("ada-l")})
    assert "run it again" in stale.stderr


def test_non_loopback_listen_needs_the_classroom_opt_in() -> None:
    with pytest.raises(TutorError, match="reachable from other machines") as raised:
        classroom.validate_listen("10.1.2.3:4599", classroom=False, port=None)
    assert "--classroom" in raised.value.fix
    # opted in, but not an address of this machine: refused before anything starts
    with pytest.raises(TutorError, match=r"cannot listen on 192\.0\.2\.77"):
        classroom.validate_listen("192.0.2.77", classroom=True, port=None)
    assert classroom.validate_listen("127.0.0.2:4599", False, None) == ("127.0.0.2", 4599)
    assert classroom.validate_listen("localhost", False, 4600) == ("", 4600)
    with pytest.raises(TutorError, match="not HOST"):
        classroom.parse_listen("host:port")
    assert classroom.gateway_listen("10.0.0.5", 4566) == "127.0.0.1:4566,10.0.0.5:4566"
    assert classroom.gateway_listen("0.0.0.0", 4566) == "0.0.0.0:4566"
    refused = tutor("localstack", "up", "--listen", "10.1.2.3")
    assert refused.returncode != 0 and "--classroom" in refused.stderr
    assert service_state() is None  # nothing was started


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_classroom_localstack_serves_a_second_address(tutor_home: Path) -> None:
    # 127.0.0.2 is loopback too: a second address of this machine, never the network.
    port = free_port()
    try:
        local = service_up(listen=f"127.0.0.2:{port}")
        state = service_state()
        assert state is not None and state["classroom_url"] == f"http://127.0.0.2:{port}"
        status = tutor("localstack", "status")
        assert status.returncode == 0
        assert f"--endpoint http://127.0.0.2:{port} --allow-host 127.0.0.2" in status.stdout
        report = json.loads(tutor("localstack", "status", "--json").stdout)
        assert report["listen"] == "127.0.0.2"
        # A learner on "another machine" reaches it on the classroom address, in their
        # own account, and the queue URLs it hands out carry that address.
        seat = Endpoint(f"http://127.0.0.2:{port}", "test", account=account_for("ada"))
        url = client("sqs", seat).create_queue(QueueName="lab04-orders")["QueueUrl"]
        assert url.startswith(f"http://127.0.0.2:{port}/") and seat.account in url
        # The teacher's machine still uses loopback, in the default account: no queue.
        assert client("sqs", local).list_queues().get("QueueUrls", []) == []
        # The learner joins with the command `up` printed.
        joined = tutor("--endpoint", f"http://127.0.0.2:{port}", "--allow-host", "127.0.0.2",
                       "learner", "set", "ada")
        assert joined.returncode == 0 and "answers" in joined.stdout
    finally:
        assert service_down()
