"""The safety guard: AWS requests go only to this machine unless the user names a host.

The check runs twice: when a client is built, and again on every request just before it
is sent (a botocore `before-send` hook), so a redirect or a changed endpoint cannot slip
through.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from tutor.errors import TutorError, UnsafeEndpoint

ALLOW_HOSTS_ENV = "TUTOR_ALLOW_HOSTS"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

# Hosts the user opted into on the command line (`--allow-host`), added to the env list.
_opted_in: set[str] = set()


def allow_host(host: str) -> None:
    """Record an explicit opt-in for one non-loopback host (from `--allow-host`)."""
    _opted_in.add(host.strip().lower())


def allowed_hosts() -> set[str]:
    from_env = {h.strip().lower() for h in os.environ.get(ALLOW_HOSTS_ENV, "").split(",")}
    return (from_env | _opted_in) - {""}


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise TutorError(f"{url!r} is not a URL", "Bad endpoint",
                         "give it as http://127.0.0.1:4566") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TutorError(f"{url!r} is not an http(s) URL with a host", "Bad endpoint",
                         "give it as http://127.0.0.1:4566")
    return parts.hostname


def check(url: str) -> None:
    """Raise `UnsafeEndpoint` unless `url` points at loopback or an opted-in host."""
    host = host_of(url)
    if is_loopback(host) or host.lower() in allowed_hosts():
        return
    raise UnsafeEndpoint(url)


def before_send_hook(request: object, **_: object) -> None:
    """botocore `before-send` handler: refuse the request before it leaves the process."""
    url = getattr(request, "url", "")
    check(str(url))
