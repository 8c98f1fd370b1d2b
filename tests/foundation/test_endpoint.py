"""Endpoint resolution: explicit, environment, shared service, default port, else none."""

from __future__ import annotations

import json

import pytest

from tutor import locations
from tutor.cloud import endpoint as ep
from tutor.errors import UnsafeEndpoint


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    # Nothing listens on port 9 (discard), so "already running on the default" is false.
    monkeypatch.setattr(ep, "DEFAULT_URL", "http://127.0.0.1:9")
    return monkeypatch


def test_explicit_endpoint_wins_over_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4000")
    found = ep.resolve("http://localhost:5000/")
    assert found == ep.Endpoint("http://localhost:5000", "--endpoint")


def test_aws_endpoint_url_comes_before_localstack_host(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4000")
    clean_env.setenv("LOCALSTACK_HOST", "localhost:4100")
    found = ep.resolve()
    assert found is not None
    assert (found.url, found.source) == ("http://127.0.0.1:4000", "AWS_ENDPOINT_URL")


def test_localstack_host_follows_localstack_client_conventions(
        clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("LOCALSTACK_HOST", "localhost")
    assert ep.resolve().url == "http://localhost:4566"  # type: ignore[union-attr]
    clean_env.setenv("LOCALSTACK_HOST", "127.0.0.1:4999")
    clean_env.setenv("USE_SSL", "true")
    assert ep.resolve().url == "https://127.0.0.1:4999"  # type: ignore[union-attr]


def test_remote_endpoint_from_environment_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ENDPOINT_URL", "https://sqs.us-east-1.amazonaws.com")
    with pytest.raises(UnsafeEndpoint):
        ep.resolve()


def test_nothing_found_means_start_an_embedded_one(clean_env: pytest.MonkeyPatch) -> None:
    assert ep.resolve() is None


@pytest.mark.localstack
def test_shared_service_record_is_used(clean_env: pytest.MonkeyPatch,
                                       localstack: ep.Endpoint) -> None:
    locations.service_state_file().write_text(json.dumps({"url": localstack.url, "pid": 1}))
    found = ep.resolve()
    assert found is not None
    assert (found.url, found.source) == (localstack.url, "tutor localstack up")


@pytest.mark.localstack
def test_stale_service_record_is_ignored(clean_env: pytest.MonkeyPatch) -> None:
    locations.service_state_file().write_text(json.dumps({"url": "http://127.0.0.1:9"}))
    assert ep.resolve() is None


@pytest.mark.localstack
def test_localstack_answering_on_the_default_port_is_used(
        clean_env: pytest.MonkeyPatch, localstack: ep.Endpoint) -> None:
    clean_env.setattr(ep, "DEFAULT_URL", localstack.url)
    found = ep.resolve()
    assert found is not None
    assert found.url == localstack.url
    assert "already running" in found.source


def test_env_lines_carry_dummy_credentials() -> None:
    env = ep.Endpoint("http://127.0.0.1:4566", "test").env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ACCESS_KEY_ID"] == "test"
    assert env["AWS_SECRET_ACCESS_KEY"] == "test"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
