"""`tutor serve`: the same terminal app in a browser, one tutor process per browser tab."""

from __future__ import annotations

import argparse
from typing import Any

from tutor.commands.serve_hosts import addresses, is_loopback

__all__ = ["addresses", "check_host", "is_loopback", "register"]

DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 40  # each tab is a ~60 MiB tutor process; a room, not the internet


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="serve the tutor to a browser (textual-serve)",
        description="Serve the terminal app over HTTP: every browser tab that opens the "
        "printed address (it carries an access token) gets its own tutor process, running "
        "as you, on one shared LocalStack. Add &learner=ID to the address to give a learner "
        "their own progress, workspace and LocalStack account. Loopback only unless --public.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; others need --public)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--public", action="store_true",
                   help="allow a non-loopback --host: anyone who reaches it gets a tutor "
                   "running as this user")
    p.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS, metavar="N",
                   help=f"browser tabs served at once (default {DEFAULT_MAX_SESSIONS})")
    # Also accepted after `serve` (the top-level ones still work); SUPPRESS keeps a
    # missing option from overwriting the value given before `serve`.
    p.add_argument("--endpoint", metavar="URL", default=argparse.SUPPRESS,
                   help="LocalStack every browser session uses")
    p.add_argument("--allow-host", metavar="HOST", action="append", dest="serve_allow_host",
                   default=[], help="also allow this non-loopback emulator host")
    p.set_defaults(handler=_serve)


def check_host(host: str, public: bool) -> str | None:
    """Refuse a non-loopback address without --public; with it, the warning to print."""
    from tutor.errors import TutorError

    if is_loopback(host):
        return None
    if not public:
        raise TutorError(
            f"Refusing to serve on {host}: it is not a loopback address, and every browser "
            "that reaches it gets a tutor running as this user",
            "Not loopback", "add --public to open it to that network, or use --host 127.0.0.1")
    import getpass

    from tutor import sandbox

    if sandbox.problem():  # learner code would run unconfined as this user: refuse
        raise TutorError(
            f"Refusing to serve publicly on {host}: learner programs must run sandboxed "
            f"there, and {sandbox.problem()}",
            "No sandbox", "install bubblewrap, or serve on loopback (--host 127.0.0.1)")
    return (f"warning: serving on {host} — anyone who can reach this port gets a terminal "
            f"app running as user {getpass.getuser()!r}: it reads and writes your tutor "
            "files, and runs lab code in a sandbox (bubblewrap: the learner's workspace, "
            "LocalStack and nothing else); only do this on a classroom network you trust")


def bind(host: str, port: int) -> Any:
    """The listening socket, bound now so a taken port is one clear line, not a traceback."""
    import errno
    import socket

    from tutor.errors import TutorError

    if not 1 <= port <= 65535:
        raise TutorError(f"Port {port} is not a TCP port", "Bad port", "use 1-65535, e.g. 8000")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise TutorError(f"Cannot listen on {host}: {exc.strerror}", "Bad host",
                         "use an address of this machine, e.g. --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not past a live listener
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise TutorError(f"Port {port} on {host} is already in use", "Port taken",
                             "stop what uses it, or pick another with --port") from None
        raise TutorError(f"Cannot listen on {host}:{port}: {exc.strerror}", "Cannot listen",
                         "pick another --host/--port") from None
    sock.setblocking(False)
    return sock


def _sandbox_lambda() -> None:
    """The room's LocalStack runs Lambda handlers, learner code too, in the sandbox
    (lambda_executor/confine.py) when this machine has one and it is not turned off."""
    import os

    from tutor import sandbox

    if not sandbox.problem() and os.environ.get(sandbox.SANDBOX_ENV) != "0":
        os.environ[sandbox.SANDBOX_ENV] = "1"  # LocalStack inherits it


def session_argv(endpoint_url: str, allow_hosts: list[str]) -> list[str]:
    """What each browser tab runs: this tutor, on the server's LocalStack."""
    import sys

    argv = [sys.executable, "-m", "tutor", "--endpoint", endpoint_url]
    for host in allow_hosts:
        argv += ["--allow-host", host]
    return argv


def _serve(args: argparse.Namespace) -> int:
    import sys

    from tutor.cloud import endpoint as ep
    from tutor.cloud import guard
    from tutor.cloud.health import probe

    warning = check_host(args.host, args.public)
    if warning:
        print(warning, file=sys.stderr)
    else:
        from tutor import sandbox

        if sandbox.problem():  # loopback: the learners are this machine's own users
            print(f"note: learner programs run unconfined, as you: {sandbox.problem()}",
                  file=sys.stderr)
    if args.max_sessions < 1:
        from tutor.errors import TutorError

        raise TutorError("--max-sessions must be at least 1", "Bad option", "e.g. 40")
    sock = bind(args.host, args.port)
    try:
        allow = [*args.allow_host, *args.serve_allow_host]
        for host in args.serve_allow_host:
            guard.allow_host(host)
        # One LocalStack for the whole room: the shared background service (started here
        # when none runs), never one embedded LocalStack per browser tab (130+ MiB and a
        # few seconds of boot each, and learners could not meet on one emulator).
        found = ep.resolve(getattr(args, "endpoint", None))
        if found is not None and found.source.startswith("embedded in tutor session"):
            found = None  # another app's LocalStack: it stops when that app quits
        started = found is None
        if found is None:
            from tutor.cloud.embedded import service_up

            _sandbox_lambda()
            found = service_up(progress=lambda line: print(line, file=sys.stderr))
        else:
            print(f"note: the LocalStack at {found.url} was already running; its Lambda "
                  "handlers run sandboxed only if it was started with TUTOR_SANDBOX=1 "
                  "(`TUTOR_SANDBOX=1 tutor localstack up`)", file=sys.stderr)
        if not started and not probe(found.url).reachable:
            print(f"warning: nothing answers at {found.url} yet — the tutor in each tab will "
                  "say so until it does", file=sys.stderr)
        from tutor.commands.serve_server import make_server

        server = make_server(session_argv(found.url, allow), sock=sock, host=args.host,
                              port=args.port, public=args.public,
                              max_sessions=args.max_sessions, endpoint_url=found.url)
        try:
            server.run()
        finally:
            if started:
                from tutor.cloud.embedded import service_down

                service_down()
                print("Stopped the background LocalStack this server started", file=sys.stderr)
    finally:
        sock.close()
    print("tutor serve stopped", file=sys.stderr)
    return 0
