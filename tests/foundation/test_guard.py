"""The safety guard and the client factory: loopback only, dummy credentials only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tutor.cloud import clients, guard
from tutor.cloud.endpoint import Endpoint
from tutor.errors import TutorError, UnsafeEndpoint


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:4566", "http://localhost:4566", "http://[::1]:4566",
    "http://127.3.2.1:9999", "https://localhost",
])
def test_loopback_endpoints_are_allowed(url: str) -> None:
    guard.check(url)


@pytest.mark.parametrize("url", [
    "https://sqs.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://192.168.1.20:4566",
    "http://localstack.example.com:4566", "http://0.0.0.0:4566",
])
def test_remote_endpoints_are_refused(url: str) -> None:
    with pytest.raises(UnsafeEndpoint) as err:
        guard.check(url)
    assert "not a loopback address" in err.value.message
    assert "--allow-host" in err.value.fix


def test_malformed_endpoint_is_a_clear_error() -> None:
    with pytest.raises(TutorError, match="not an http"):
        guard.check("ftp://127.0.0.1")


def test_opt_in_host_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(guard.ALLOW_HOSTS_ENV, "ci-localstack.internal, other")
    guard.check("http://ci-localstack.internal:4566")
    with pytest.raises(UnsafeEndpoint):
        guard.check("http://not-listed.internal:4566")


def test_factory_refuses_remote_endpoint_before_any_request() -> None:
    with pytest.raises(UnsafeEndpoint):
        clients.client("sqs", Endpoint("https://sqs.us-east-1.amazonaws.com", "test"))


def test_before_send_hook_refuses_a_request_to_a_remote_host() -> None:
    class Prepared:  # the shape botocore passes to before-send handlers
        url = "https://sqs.eu-west-1.amazonaws.com/"

    with pytest.raises(UnsafeEndpoint):
        guard.before_send_hook(request=Prepared())


@pytest.mark.localstack
def test_real_credentials_and_profiles_are_never_read(
        localstack: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real-looking keys, a profile with a credential_process and an SSO profile: none is
    used or run, and the request that reaches LocalStack is signed with `test`."""
    marker = tmp_path / "credential-process-ran"
    config = tmp_path / "config"
    config.write_text(textwrap.dedent(f"""\
        [profile production]
        credential_process = sh -c 'touch {marker}; echo {{}}'
        region = eu-central-1
        [profile sso]
        sso_start_url = https://example.awsapps.com/start
        sso_region = eu-west-1
        sso_account_id = 123456789012
        sso_role_name = Admin
        """))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALREALREAL1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.us-east-1.amazonaws.com")
    clients.clear_cache()
    clients._session = None  # a fresh session built under this hostile environment

    seen: list[str] = []

    def record(request: object, **_: object) -> None:
        headers = getattr(request, "headers", {})
        seen.append(str(headers.get("Authorization", b"")))
        seen.append(str(getattr(request, "url", "")))
        token = headers.get("X-Amz-Security-Token")
        seen.append(f"token={token}")

    sqs = clients.client("sqs", localstack)
    sqs.meta.events.register("before-send", record)
    try:
        sqs.list_queues()
    finally:
        sqs.meta.events.unregister("before-send", record)
        clients.clear_cache()
        clients._session = None
    assert not marker.exists(), "credential_process of the user's profile was executed"
    assert "Credential=test/" in seen[0]
    assert "AKIAREAL" not in " ".join(seen)
    assert seen[1].startswith(localstack.url)
    assert seen[2] == "token=None"
