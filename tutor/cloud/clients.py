"""The one factory for boto3 clients. Nothing else in the project builds one.

Every client it makes:
- uses dummy credentials and never runs the credential chain, so the user's real keys,
  profiles, `credential_process` and SSO cache are never read; the access key id is the
  endpoint's account (`test` for LocalStack's default one), which LocalStack takes as
  the account the request acts in;
- reads no AWS config or credentials file (both point at the null device);
- talks only to the endpoint it is given (no module-level default: the caller resolved it
  at the edge and passes it down), which the guard checks when the client is built and
  again before each request is sent.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any

from tutor.cloud import guard
from tutor.cloud.endpoint import DUMMY_KEY, Endpoint

if TYPE_CHECKING:
    import botocore.session

DUMMY_SECRET = "test"

_lock = threading.Lock()
_session: botocore.session.Session | None = None
_cache: dict[tuple[str, str, str, str, float], Any] = {}


def _isolated_session() -> botocore.session.Session:
    """A botocore session cut off from the user's AWS configuration."""
    import botocore.configprovider
    import botocore.session

    # Every botocore setting normally comes from (config-file key, environment variable,
    # default). Dropping the first two for all of them means AWS_PROFILE, AWS_CONFIG_FILE,
    # AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS... and ~/.aws/* are never consulted.
    session_vars: dict[str, tuple[Any, Any, Any, Any]] = {
        name: (None, None, default, conversion)
        for name, (_, _, default, conversion)
        in botocore.configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    session_vars["config_file"] = (None, None, os.devnull, None)
    session_vars["credentials_file"] = (None, None, os.devnull, None)
    session_vars["profile"] = (None, None, None, None)
    session = botocore.session.Session(session_vars=session_vars)
    session.set_credentials(DUMMY_KEY, DUMMY_SECRET)
    return session


def client(service: str, endpoint: Endpoint, *, read_timeout: float = 30.0,
           max_attempts: int = 2) -> Any:
    """A boto3-compatible client for `service` at the local endpoint, acting in the
    endpoint's account (cached per endpoint and account)."""
    import botocore.config

    ep = endpoint
    guard.check(ep.url)
    key = (service, ep.url, ep.region, ep.account, read_timeout)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        global _session
        if _session is None:
            _session = _isolated_session()
        config = botocore.config.Config(
            connect_timeout=2,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=32,
            proxies={},  # never the shell's HTTP(S)_PROXY: LocalStack is reached directly
        )
        made = _session.create_client(
            service,
            region_name=ep.region,
            endpoint_url=ep.url,
            aws_access_key_id=ep.access_key,
            aws_secret_access_key=DUMMY_SECRET,
            aws_session_token=None,
            config=config,
        )
        made.meta.events.register("before-send", guard.before_send_hook)
        if service == "sqs":
            made.meta.events.register("provide-client-params.sqs.ReceiveMessage",
                                      functools.partial(explicit_wait, read_timeout))
        _cache[key] = made
        return made


# WaitTimeSeconds=QUEUE_WAIT sends no WaitTimeSeconds at all, so the queue's own
# ReceiveMessageWaitTimeSeconds applies: for callers that own the queue and mean to show
# that default (the quiz's observed scenarios), never for a learner's queue.
QUEUE_WAIT: Any = object()


def explicit_wait(read_timeout: float, params: dict[str, Any], **_: Any) -> None:
    """Every ReceiveMessage the tutor makes states its own WaitTimeSeconds.

    Without it the queue's ReceiveMessageWaitTimeSeconds applies: a learner's valid 20 s
    would hold the tutor's receive longer than its read timeout. 0 (a short poll) unless
    the caller asked for a wait, which must end well before the read timeout, or asked
    for the queue's own (QUEUE_WAIT).
    """
    if params.get("WaitTimeSeconds") is QUEUE_WAIT:
        del params["WaitTimeSeconds"]
        return
    wait = params.setdefault("WaitTimeSeconds", 0)
    if isinstance(wait, int | float) and wait > read_timeout - 2:
        raise ValueError(f"ReceiveMessage with WaitTimeSeconds={wait} on a client whose read "
                         f"timeout is {read_timeout:g} s: ask for a shorter wait")


def clear_cache() -> None:
    """Forget cached clients (after the endpoint changes)."""
    with _lock:
        _cache.clear()
