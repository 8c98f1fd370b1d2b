"""A classroom LocalStack: the shared one served on a network address, opted in.

`tutor localstack up --listen HOST[:PORT] --classroom`: LocalStack then listens on
loopback (our Lambda runtimes and the teacher's own tutor use it) and on HOST, and puts
HOST in the queue URLs it hands out. LocalStack has no authentication: anyone on that
network can reach it, hence the explicit opt-in for any non-loopback address. Learners
stay apart by account (`tutor.engine.learner`), not by trust.
"""

from __future__ import annotations

import contextlib
import socket

from tutor.cloud import guard
from tutor.errors import TutorError

# Set (by `service_up` only) for the LocalStack's launcher: the extra address to serve.
LISTEN_ENV = "TUTOR_CLASSROOM_LISTEN"


def gateway_listen(listen: str, port: int) -> str:
    """LocalStack's GATEWAY_LISTEN. Loopback comes first whatever else is asked: our Lambda
    runtimes reach LocalStack on the first address's port over loopback."""
    if not listen or listen == "127.0.0.1":
        return f"127.0.0.1:{port}"
    if listen in {"0.0.0.0", "::"}:  # every address, loopback included
        return f"{listen}:{port}" if listen == "0.0.0.0" else f"[::]:{port}"
    return f"127.0.0.1:{port},{listen}:{port}"


def advertised_host(listen: str) -> str:
    """The address learners use: the listen address, or this machine's outward one for
    0.0.0.0 (a UDP socket's route choice; no packet is sent)."""
    if listen not in {"0.0.0.0", "::"}:
        return listen
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only
        return str(s.getsockname()[0])
    return socket.gethostname()


def parse_listen(text: str) -> tuple[str, int | None]:
    """`HOST[:PORT]` (IPv6 as `[::1]:4566`) -> (host, port or None)."""
    text = text.strip()
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise TutorError(f"--listen {text!r} is not HOST[:PORT]", "Bad address",
                         "e.g. --listen 192.168.1.20:4566 (an address of this machine)")
    return host, int(port) if port else None


def bind_error(host: str, port: int) -> OSError | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def validate_listen(listen: str | None, classroom: bool, port: int | None
                    ) -> tuple[str, int | None]:
    """Validate `--listen`: a non-loopback address needs the explicit `--classroom`."""
    if not listen:
        return "", port
    host, listen_port = parse_listen(listen)
    if port is not None and listen_port is not None and port != listen_port:
        raise TutorError("--port and the port of --listen differ", "Bad address",
                         "give the port once, in --listen HOST:PORT")
    if not guard.is_loopback(host) and not classroom:
        raise TutorError(
            f"{host} is reachable from other machines: the LocalStack would serve anyone "
            "on that network, without authentication",
            "Classroom opt-in needed",
            f"add --classroom to share it with a classroom: tutor localstack up --listen "
            f"{listen} --classroom")
    error = bind_error(host, 0)
    if error is not None:
        raise TutorError(f"cannot listen on {host}: {error.strerror or error}",
                         "Bad address", "give an address of this machine (`ip addr`), or "
                         "0.0.0.0 for all of them")
    if host.lower() in {"localhost", "127.0.0.1"}:
        host = ""  # the default loopback address, served anyway
    return host, listen_port if listen_port else port
