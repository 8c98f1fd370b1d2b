"""The first process inside a learner program's sandbox (standard library only, run with
`python -I`): it carries LocalStack's port on the sandbox's own loopback over a Unix socket
the tutor bound in, carries the ports the program serves back out the same way, starts
the learner's command and exits with its status (writing down first what the command
left running, which dies with the sandbox). A `TERM` line on the control socket is
passed to the command's process group as SIGTERM: bubblewrap forwards no signal.

    python -I inside.py SOCKETS_DIR LOCALSTACK_PORT SERVED REACHED -- COMMAND...

SERVED (ports the command listens on) and REACHED (ports of the run's other programs it
may call) are comma-separated lists, or `-`. The sandbox has no other network: its
network namespace holds a loopback and nothing else.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 other: Opener) -> None:
    """Join one accepted connection to a new connection made by `other`."""
    try:
        far_reader, far_writer = await other()
    except OSError:
        writer.close()
        return
    try:
        await asyncio.gather(_pump(reader, far_writer), _pump(far_reader, writer))
    finally:
        for end in (writer, far_writer):
            end.close()


def tcp(host: str, port: int) -> Opener:
    return functools.partial(asyncio.open_connection, host, port)


def unix(path: str) -> Opener:
    return functools.partial(asyncio.open_unix_connection, path)


def joining(other: Opener) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                       Awaitable[None]]:
    """A server's connection callback that joins each connection to `other`."""
    return functools.partial(splice, other=other)


async def _serve(sockets: str, port: int, served: list[int], reached: list[int],
                 child: list[int], ready: threading.Event) -> None:
    outward = {port: "localstack.sock", **{p: f"reach-{p}.sock" for p in reached}}
    for listen, name in outward.items():
        await asyncio.start_server(joining(unix(os.path.join(sockets, name))), "127.0.0.1",
                                   listen)
    for inner in served:
        await asyncio.start_unix_server(joining(tcp("127.0.0.1", inner)),
                                        os.path.join(sockets, f"serve-{inner}.sock"))

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if (await reader.readline()).strip() == b"TERM" and child:
            try:
                os.killpg(child[0], signal.SIGTERM)
            except OSError:
                pass
        writer.close()

    await asyncio.start_unix_server(control, os.path.join(sockets, "control.sock"))
    ready.set()
    await asyncio.Event().wait()


def main(argv: list[str]) -> int:
    sockets, port, served_text, reached_text, dash, *command = argv
    if dash != "--" or not command:
        print("tutor sandbox: usage: SOCKETS PORT SERVED REACHED -- COMMAND",
              file=sys.stderr)
        return 125
    served, reached = ([int(p) for p in text.split(",") if p and p != "-"]
                       for text in (served_text, reached_text))
    child: list[int] = []
    ready = threading.Event()
    threading.Thread(target=lambda: asyncio.run(_serve(sockets, int(port), served, reached,
                                                       child, ready)), daemon=True).start()
    if not ready.wait(10):
        print("tutor sandbox: the sandbox's network relay did not start", file=sys.stderr)
        return 125
    proc = subprocess.Popen(command, start_new_session=True)
    child.append(proc.pid)
    code = proc.wait()
    _record_leftovers(os.path.join(sockets, "leftovers.json"))
    return 128 - code if code < 0 else code  # bubblewrap's convention for a signal


def _record_leftovers(path: str) -> None:
    """What still runs when the command has ended (processes it left behind, which die
    with the sandbox when this exits): the tutor's checks ask about them."""
    import json

    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if argv:
            left.append({"pid": int(name), "cmdline": argv})
    with open(path + ".tmp", "w") as out:
        json.dump(left, out)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
