"""The safety guard: AWS requests go only to this machine unless the user names a host.

The check runs twice: when a client is built, and again on every request just before it
is sent (a botocore `before-send` hook), so a redirect or a changed endpoint cannot slip
through. A URL passes only when it is plain: no user info (`127.0.0.1@10.0.0.1`), no
backslash, space or control character, and the two parsers in play (urllib's, which the
guard reads, and urllib3's, which connects) agree on the host: a URL they read differently
(`http://10.0.0.1\\@127.0.0.1`) is refused. Loopback is a canonical IP literal (127.0.0.0/8,
::1, ::ffff:127.x) or a loopback name that resolves only to loopback addresses; other
notations (`0x7f000001`, `2130706433`, `127.1`) and names (`127.0.0.1.nip.io`) are refused.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
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


def _loopback_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@functools.lru_cache(maxsize=16)
def _resolves_to_loopback(name: str) -> bool:
    """Every address `name` resolves to is loopback (a hosts file could say otherwise)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(_loopback_ip(str(info[4][0]).split("%")[0]) for info in infos)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return _resolves_to_loopback(host)
    return _loopback_ip(host)


def _bad_endpoint(url: str, why: str) -> TutorError:
    return TutorError(f"{url!r} {why}", "Bad endpoint", "give it as http://127.0.0.1:4566")


def host_of(url: str) -> str:
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        raise _bad_endpoint(url, "contains a space, a control character or a backslash")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise _bad_endpoint(url, "is not a URL") from exc
    if parts.scheme not in {"http", "https"} or not hostname:
        raise _bad_endpoint(url, "is not an http(s) URL with a host")
    if "@" in parts.netloc:
        raise _bad_endpoint(url, "names a user (`user@host`); an endpoint never does")
    try:  # the parser that connects must read the same host
        from urllib3.util import parse_url

        other = (parse_url(url).host or "").strip("[]").lower()
    except ImportError:
        other = hostname.lower()
    except ValueError as exc:  # urllib3's LocationParseError
        raise _bad_endpoint(url, "is not a URL urllib3 can read") from exc
    if other != hostname.lower():
        raise _bad_endpoint(url, f"is read as host {hostname!r} by one parser and "
                                 f"{other!r} by another")
    return hostname


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
