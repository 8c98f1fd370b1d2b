"""The safety guard under attack: tricky endpoints, redirects, proxies, the user's credentials.

No test here can send anything off this machine: every socket connect of the process goes
through `no_traffic_off_machine`, which records the address and refuses any that is not
loopback. The guard must refuse before that; the servers the requests reach are the
test's own, on 127.0.0.1, and record what they receive.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tutor.cloud import clients, guard
from tutor.cloud.endpoint import Endpoint
from tutor.errors import TutorError, UnsafeEndpoint

OFF_MACHINE = "192.0.2.1"  # TEST-NET-1: documentation only, never routed


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else str(address)
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address this process connects to; a non-loopback one is refused, not sent."""
    seen: list[Any] = []
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise ConnectionRefusedError(f"test: refused to leave the machine for {address}")
        original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


class Recorder(http.server.ThreadingHTTPServer):
    """A loopback HTTP server answering every request with `reply`, recording each one."""

    def __init__(self, reply: tuple[int, dict[str, str], bytes]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = reply
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers), "body": body})
        status, headers, payload = self.server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def ok_server() -> Iterator[Recorder]:
    server = Recorder((200, {"content-type": "application/x-amz-json-1.0"}, b"{}"))
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    clients.clear_cache()
    clients._session = None
    guard._resolves_to_loopback.cache_clear()
    yield
    clients.clear_cache()
    clients._session = None
    guard._resolves_to_loopback.cache_clear()


ATTACKS = [
    "http://localhost.example:4566",  # a name, not loopback, whatever it resolves to
    "http://127.0.0.1.nip.io:4566",  # public DNS answering 127.0.0.1 today, anything later
    "http://localhost.localstack.cloud:4566",
    "http://0x7f000001:4566",  # 127.0.0.1 to inet_aton, not to the guard
    "http://2130706433:4566",
    "http://017700000001:4566",
    "http://127.1:4566",
    f"http://[::ffff:{OFF_MACHINE}]:4566",
    f"http://127.0.0.1@{OFF_MACHINE}:4566",  # user info: the host is the part after @
    f"http://127.0.0.1:4566@{OFF_MACHINE}",
    f"http://{OFF_MACHINE}\\@127.0.0.1:4566",  # urllib reads 127.0.0.1, urllib3 192.0.2.1
    f"http://{OFF_MACHINE}#@127.0.0.1:4566",
    f"http://{OFF_MACHINE}?@127.0.0.1:4566",
    f"http://127.0.0.1 @{OFF_MACHINE}:4566",
    "http://127.0.0.1\t.evil.example:4566",
    "http://0.0.0.0:4566",
    "http://[::]:4566",
    f"http://{OFF_MACHINE}:4566",
]


@pytest.mark.parametrize("url", ATTACKS)
def test_tricky_endpoints_are_refused_before_any_connection(
        url: str, connects: list[Any], fresh_clients: None) -> None:
    with pytest.raises(TutorError):
        guard.check(url)
    with pytest.raises(TutorError):
        clients.client("sqs", Endpoint(url, "test"))

    class Prepared:  # what botocore hands to before-send
        pass

    Prepared.url = url  # type: ignore[attr-defined]
    with pytest.raises(TutorError):
        guard.before_send_hook(request=Prepared())
    assert connects == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "http://127.9.8.7:1",
                                 "http://localhost:4566", "http://[::1]:4566",
                                 "http://[::ffff:127.0.0.1]:4566"])
def test_plain_loopback_endpoints_still_pass(url: str, fresh_clients: None) -> None:
    guard.check(url)


def test_localhost_that_resolves_elsewhere_is_refused(
        monkeypatch: pytest.MonkeyPatch, fresh_clients: None, connects: list[Any]) -> None:
    """A hosts file mapping `localhost` to another machine: the name alone is not trusted."""
    def elsewhere(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (OFF_MACHINE, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", elsewhere)
    with pytest.raises(UnsafeEndpoint):
        guard.check("http://localhost:4566")
    assert connects == []


@pytest.mark.parametrize("service,call", [
    ("sqs", lambda c: c.list_queues()),
    ("s3", lambda c: c.list_objects_v2(Bucket="lab01-bucket")),
    ("s3", lambda c: c.head_bucket(Bucket="lab01-bucket")),
])
def test_a_redirect_off_the_machine_is_not_followed(
        service: str, call: Any, connects: list[Any], fresh_clients: None) -> None:
    """A loopback server answering 307/301 towards another host (and S3's region hint)."""
    target = f"http://{OFF_MACHINE}:4566/stolen"
    server = Recorder((307, {"Location": target, "x-amz-bucket-region": "eu-west-3",
                             "content-type": "application/xml"},
                       b"<Error><Code>TemporaryRedirect</Code><Endpoint>"
                       + OFF_MACHINE.encode() + b"</Endpoint></Error>"))
    sent: list[str] = []
    try:
        made = clients.client(service, Endpoint(server.url, "test"))
        made.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
        try:
            call(made)
        except Exception as exc:  # an error is fine: what matters is where requests went
            assert not isinstance(exc, ConnectionRefusedError), exc
    finally:
        server.shutdown()
        server.server_close()
    assert server.requests, "the loopback server should have had the first request"
    assert all(url.startswith(server.url) for url in sent), sent
    assert all(_is_loopback(address) for address in connects), connects


def _hostile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose ~/.aws has real-looking keys and credential_process that leave a marker."""
    marker = tmp_path / "credential-process-ran"
    aws = tmp_path / "home" / ".aws"
    aws.mkdir(parents=True)
    process = f"sh -c 'touch {marker}; echo {{\"Version\": 1}}'"
    (aws / "config").write_text(textwrap.dedent(f"""\
        [default]
        credential_process = {process}
        region = eu-central-1
        [profile work]
        credential_process = {process}
        """))
    (aws / "credentials").write_text(textwrap.dedent("""\
        [default]
        aws_access_key_id = AKIAHOMEHOMEHOME0000
        aws_secret_access_key = home-secret
        """))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVENVENVENV0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-session-token")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return marker


def _signing_key(headers: dict[str, str]) -> str:
    auth = headers.get("Authorization", "")
    return auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""


def test_the_users_credentials_are_never_read_or_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ok_server: Recorder,
        connects: list[Any], fresh_clients: None) -> None:
    marker = _hostile_home(tmp_path, monkeypatch)
    clients.client("sqs", Endpoint(ok_server.url, "test")).list_queues()
    (request,) = ok_server.requests
    headers = request["headers"]
    key = _signing_key(headers)
    assert key == "test" or (key.isdigit() and len(key) == 12), headers.get("Authorization")
    assert "X-Amz-Security-Token" not in headers
    assert "AKIA" not in json.dumps(headers) and "env-session-token" not in json.dumps(headers)
    assert not marker.exists(), "a credential_process of ~/.aws was run"
    assert all(_is_loopback(address) for address in connects)


def test_learner_programs_get_dummy_credentials_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ok_server: Recorder) -> None:
    """The learner's own boto3, under the same hostile home and environment."""
    from tutor.engine.labs.scenario import ScenarioRunner

    marker = _hostile_home(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    (work / "app.py").write_text("import boto3\nboto3.client('sqs').list_queues()\n")
    runner = ScenarioRunner("95-guard", "lab95-", Endpoint(ok_server.url, "test"), work)
    try:
        runner.run("app.py", timeout=30)
    finally:
        runner.close()
    (request,) = ok_server.requests
    assert _signing_key(request["headers"]) in ("test", "000000000000")
    assert "X-Amz-Security-Token" not in request["headers"]
    assert not marker.exists(), "a credential_process of ~/.aws was run for a learner program"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """HTTP(S)_PROXY set in the shell (common on school networks), here a loopback recorder."""
    server = Recorder((502, {}, b""))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, server.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.shutdown()
    server.server_close()


def test_learner_programs_do_not_go_through_the_shells_proxy(
        tmp_path: Path, ok_server: Recorder, proxy: Recorder) -> None:
    from tutor.engine.labs.scenario import ScenarioRunner

    work = tmp_path / "work"
    work.mkdir()
    (work / "app.py").write_text("import boto3\nboto3.client('sqs').list_queues()\n")
    runner = ScenarioRunner("95-guard", "lab95-", Endpoint(ok_server.url, "test"), work)
    try:
        runner.run("app.py", timeout=30)
    finally:
        runner.close()
    assert proxy.requests == []
    assert len(ok_server.requests) == 1


def test_tutor_clients_do_not_go_through_the_shells_proxy(
        ok_server: Recorder, proxy: Recorder, fresh_clients: None) -> None:
    clients.client("sqs", Endpoint(ok_server.url, "test")).list_queues()
    assert proxy.requests == [], "the AWS request went to the proxy"
    assert len(ok_server.requests) == 1


def test_the_health_probe_does_not_go_through_the_shells_proxy(
        ok_server: Recorder, proxy: Recorder, connects: list[Any]) -> None:
    from tutor.cloud.health import probe

    assert probe(ok_server.url, timeout=5).reachable
    assert proxy.requests == []
    assert [r["path"] for r in ok_server.requests] == ["/_localstack/health"]
