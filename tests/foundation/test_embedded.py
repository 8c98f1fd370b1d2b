"""The embedded LocalStack: boots, is shared, and never outlives the tutor that started it.

The tutor here is the real `tutor` app, run in a pseudo-terminal, killed in each way a
session can end; the test then waits for every LocalStack process to be gone.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tutor.cloud import clients
from tutor.cloud.embedded import EmbeddedLocalStack, free_port
from tutor.cloud.health import probe
from tutor.errors import TutorError

pytestmark = [pytest.mark.localstack, pytest.mark.slow]
TUTOR = [sys.executable, "-m", "tutor"]


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _localstack_tree(watchdog_pid: int) -> list[psutil.Process]:
    try:
        watchdog = psutil.Process(watchdog_pid)
        return [watchdog, *watchdog.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _all_gone(procs: list[psutil.Process]) -> bool:
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def _start_app_in_pty(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    env = {**os.environ, "TUTOR_HOME": str(home), "TERM": "xterm-256color",
           "COLUMNS": "100", "LINES": "30"}
    env.pop("TUTOR_TEST_ENDPOINT", None)
    proc = subprocess.Popen(TUTOR, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    return proc, master


def _drain(master: int) -> None:
    import select

    while select.select([master], [], [], 0)[0]:
        try:
            if not os.read(master, 65536):
                return
        except OSError:
            return


def _session_record(home: Path) -> dict[str, int | str]:
    records = list((home / "localstack" / "sessions").glob("*.json"))
    return json.loads(records[0].read_text()) if records else {}


@pytest.mark.parametrize("ending", ["quit-key", "sigterm", "sigint", "sigkill"])
def test_app_never_leaves_localstack_behind(ending: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc, master = _start_app_in_pty(home)
    try:
        def ready() -> bool:
            _drain(master)
            record = _session_record(home)
            return bool(record) and probe(str(record["url"])).reachable

        _wait(ready, 90, "the app's embedded LocalStack to answer")
        record = _session_record(home)
        tree = _localstack_tree(int(record["watchdog"]))
        assert any("tutor.cloud.localstack_main" in " ".join(p.cmdline()) for p in tree), tree
        if ending == "quit-key":
            os.write(master, b"q")
        else:
            sig = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT,
                   "sigkill": signal.SIGKILL}[ending]
            os.kill(proc.pid, sig)
        if ending != "sigint":  # Textual may treat ^C as a key; the watchdog still acts
            _wait(lambda: (_drain(master), proc.poll() is not None)[1], 30, "the app to exit")
        else:
            time.sleep(2)
            if proc.poll() is None:
                proc.kill()
        _wait(lambda: _all_gone(tree), 60, f"LocalStack to stop after {ending}")
        assert not probe(str(record["url"])).reachable
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        os.close(master)


def test_embedded_start_stop_and_port_taken(tmp_path: Path) -> None:
    embedded = EmbeddedLocalStack(data=tmp_path / "ls")
    endpoint = embedded.start()
    try:
        assert probe(endpoint.url).ready
        tree = _localstack_tree(embedded.pid or 0)
        # S3 objects live in this instance's data directory, not in LocalStack's shared
        # hard-coded /tmp/localstack-s3-storage (two sessions would corrupt each other).
        s3 = clients.client("s3", endpoint)
        bucket = f"tutor-private-{embedded.port}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"mine")
        assert (tmp_path / "ls" / "tmp" / "s3-storage" / bucket).is_dir()
        assert not Path("/tmp/localstack-s3-storage", bucket).exists()
        # The same port cannot be used twice: a clear error, not a hang.
        with pytest.raises(TutorError, match="already taken") as err:
            EmbeddedLocalStack(data=tmp_path / "other", port=embedded.port).start()
        assert err.value.fix
    finally:
        embedded.stop()
    _wait(lambda: _all_gone(tree), 20, "LocalStack to stop")


def test_boot_failure_shows_the_log_tail(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_LOCALSTACK_MODULE", "localstack_module_that_does_not_exist")
    with pytest.raises(TutorError) as err:
        EmbeddedLocalStack(data=tmp_path / "ls").start()
    assert err.value.title == "LocalStack failed to boot"
    assert "No module named localstack_module_that_does_not_exist" in err.value.message


def test_background_service_up_status_env_down(tmp_path: Path) -> None:
    env = {**os.environ, "TUTOR_HOME": str(tmp_path / "home")}
    port = free_port()

    def tutor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*TUTOR, *args], env=env, capture_output=True, text=True,
                              timeout=120)

    up = tutor("localstack", "up", "--port", str(port))
    assert up.returncode == 0, up.stderr
    try:
        status = tutor("localstack", "status", "--json")
        assert status.returncode == 0
        report = json.loads(status.stdout)
        assert report["running"] and report["url"] == f"http://127.0.0.1:{port}"
        assert report["missing_services"] == []
        lines = tutor("env").stdout.splitlines()
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in lines
        assert "export AWS_ACCESS_KEY_ID=test" in lines
        # A second `up` reuses the running one instead of starting another.
        again = tutor("localstack", "up")
        assert f"http://127.0.0.1:{port}" in again.stdout
        tree = _localstack_tree(int(report["pid"]))
    finally:
        down = tutor("localstack", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    _wait(lambda: _all_gone(tree), 30, "the background LocalStack to stop")
    assert tutor("localstack", "status").returncode == 1
    assert not (tmp_path / "home" / "localstack" / "service.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_embedded_localstacks_keep_their_own_data(tmp_path: Path) -> None:
    """With /.dockerenv present (as here and on many CI runners) LocalStack would take the
    machine for its container and share /var/lib/localstack; the host layout keeps each
    one's data, packages and temporary files under its own data dir."""
    import urllib.request

    first = EmbeddedLocalStack(data=tmp_path / "a")
    second = EmbeddedLocalStack(data=tmp_path / "b")
    try:
        endpoints = [first.start(), second.start()]
        for endpoint in endpoints:
            with urllib.request.urlopen(endpoint.url + "/_localstack/info", timeout=5) as r:
                assert json.loads(r.read())["is_docker"] is False
        for data in (tmp_path / "a", tmp_path / "b"):
            assert (data / "fs" / "var" / "lib" / "localstack").is_dir()
            assert (data / "fs" / "usr" / "lib" / "localstack").is_dir()
        # Same queue name in both: each instance has its own.
        for index, endpoint in enumerate(endpoints):
            clients.client("sqs", endpoint).create_queue(QueueName=f"twin-{index}")
        names = [sorted(u.rsplit("/", 1)[-1] for u in clients.client("sqs", e).list_queues()
                        .get("QueueUrls", [])) for e in endpoints]
        assert names == [["twin-0"], ["twin-1"]]
    finally:
        first.stop()
        second.stop()
