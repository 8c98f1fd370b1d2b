"""Which LocalStack to talk to, and why.

Order (first match wins):
1. an explicit `--endpoint` URL;
2. the environment, with the conventions of boto3 and localstack-client:
   `AWS_ENDPOINT_URL`, then `LOCALSTACK_HOST` (`host[:port]`, https when `USE_SSL`);
3. the shared background LocalStack started by `tutor localstack up`;
4. a LocalStack already answering on 127.0.0.1:4566;
5. otherwise none: the caller starts an embedded one (`tutor.cloud.embedded`).

The account (LocalStack keeps each account's resources apart) is the learner's
(`tutor.engine.learner.current()`): LocalStack's default account unless a learner id is
set. Requests sign with the account as access key id, which LocalStack reads as the
account; the default account keeps the classic key `test`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tutor.cloud import guard
from tutor.cloud.health import probe

DEFAULT_URL = "http://127.0.0.1:4566"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
DUMMY_KEY = "test"  # LocalStack maps it to the default account


# Variables of the learner's shell that would send the AWS CLI, boto3 or the JS SDK
# somewhere else than LocalStack, or fail them on a profile that does not exist here.
SHELL_UNSETS = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_SDK_LOAD_CONFIG",
)


def shell_unsets(environ: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """What `tutor env` unsets first: the fixed list, plus every per-service endpoint
    (`AWS_ENDPOINT_URL_SQS`...) the shell has, which would beat AWS_ENDPOINT_URL."""
    env = os.environ if environ is None else environ
    per_service = sorted(k for k in env if k.startswith("AWS_ENDPOINT_URL_"))
    return [*SHELL_UNSETS, *per_service]


def access_key_for(account: str) -> str:
    """The access key id that makes LocalStack act in `account`."""
    return DUMMY_KEY if account == DEFAULT_ACCOUNT else account


@dataclass(frozen=True)
class Endpoint:
    url: str
    source: str  # how it was chosen, shown by `tutor doctor`
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT  # the learner's LocalStack account

    @property
    def access_key(self) -> str:
        return access_key_for(self.account)

    def env(self) -> dict[str, str]:
        """Environment for a subprocess (learner code, aws CLI) to reach this LocalStack,
        acting in the learner's account."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": "test",
            "LOCALSTACK_HOST": self.url.split("://", 1)[-1].rstrip("/"),
            "TUTOR_ACCOUNT": self.account,
            # awslocal (awscli-local) reads AWS_ENDPOINT_URL; its deprecation banner would
            # only confuse a learner in a lab.
            "DISABLE_DEPRECATION_NOTICE": "1",
            # The SDK for JavaScript's ten-line notice about Node.js versions (lab 01 pins
            # the SDK) would fill the lines a failed check shows of the learner's output.
            "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
            # botocore would send LocalStack traffic through the shell's HTTP(S)_PROXY,
            # possibly off this machine; keep whatever the shell already bypassed.
            "NO_PROXY": self._no_proxy(),
            "no_proxy": self._no_proxy(),
        }

    def _no_proxy(self) -> str:
        from urllib.parse import urlsplit

        direct = ["127.0.0.1", "localhost", "::1", urlsplit(self.url).hostname or ""]
        given = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
        return ",".join(h for h in dict.fromkeys([*direct, *given.split(",")]) if h.strip())


def region() -> str:
    return os.environ.get("TUTOR_REGION", "").strip() or DEFAULT_REGION


def account() -> str:
    """The account this layer can know on its own: `TUTOR_ACCOUNT` (set by `Endpoint.env()`
    for programs the tutor runs), else LocalStack's default. The learner's account (from
    their id in the progress store) is bound at the edge: `tutor.engine.learner.bind`."""
    given = os.environ.get("TUTOR_ACCOUNT", "").strip()
    return given if len(given) == 12 and given.isdigit() else DEFAULT_ACCOUNT


def from_environment(environ: dict[str, str] | os._Environ[str] | None = None) -> Endpoint | None:
    env = os.environ if environ is None else environ
    url = env.get("AWS_ENDPOINT_URL", "").strip()
    if url:
        return Endpoint(url.rstrip("/"), "AWS_ENDPOINT_URL", region(), account())
    host = env.get("LOCALSTACK_HOST", "").strip()
    if host:
        scheme = "https" if env.get("USE_SSL", "").lower() in {"1", "true"} else "http"
        if ":" not in host:
            host = f"{host}:4566"
        return Endpoint(f"{scheme}://{host}", "LOCALSTACK_HOST", region(), account())
    return None


def _recorded_url(path: Path) -> str | None:
    try:
        state = json.loads(path.read_text())
        return str(state["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def from_service_state() -> Endpoint | None:
    """A LocalStack another tutor process shares: `tutor localstack up`, else the newest
    embedded one of a running `tutor` session (so `tutor env` in a second terminal finds
    the LocalStack the app started)."""
    from tutor import locations

    url = _recorded_url(locations.service_state_file())
    if url and probe(url, timeout=0.5).reachable:
        return Endpoint(url, "tutor localstack up", region(), account())
    sessions = sorted(locations.sessions_dir().glob("*.json"),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for path in sessions:
        url = _recorded_url(path)
        if url and probe(url, timeout=0.5).reachable:
            return Endpoint(url, f"embedded in tutor session {path.stem}", region(),
                            account())
    return None


def resolve(explicit: str | None = None, *, probe_default: bool = True) -> Endpoint | None:
    """Find an endpoint without starting anything; `None` means start an embedded one."""
    endpoint: Endpoint | None
    if explicit:
        endpoint = Endpoint(explicit.rstrip("/"), "--endpoint", region(), account())
    else:
        endpoint = from_environment() or from_service_state()
        if endpoint is None and probe_default and probe(DEFAULT_URL, timeout=0.5).reachable:
            endpoint = Endpoint(DEFAULT_URL, "already running on 127.0.0.1:4566", region(),
                                account())
    if endpoint is not None:
        guard.check(endpoint.url)
    return endpoint

