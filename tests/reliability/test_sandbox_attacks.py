"""The learner-program sandbox under attack, as a stranger at a public `tutor serve` would try.

Each attack is a learner program started the way every learner program is (a lab check's
scenario and the run pane alike: `ScenarioRunner.start`) with the sandbox on, as a public
server has it. It prints what it managed; the test asserts that none of it got through,
and that the program still did what a lab needs (LocalStack answers, a port it serves is
reachable, SIGTERM reaches it, a crash reads as a crash).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import tutor
from tutor import sandbox
from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.scenario import ScenarioRunner

pytestmark = pytest.mark.skipif(
    bool(sandbox.problem()) and not os.environ.get("CI"),
    reason=f"no sandbox on this machine: {sandbox.problem()}")

OFF_MACHINE = "192.0.2.1"  # TEST-NET-1: documentation only, never routed


@pytest.fixture
def room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A server's files as a public classroom has them: the server user's credentials,
    two learners' workspaces, the tutor's own files."""
    assert sandbox.problem() == "", sandbox.problem()  # in CI the sandbox must be there
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "1")
    home = tmp_path / "server-home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = REAL\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    mine = tmp_path / "learners" / "alice" / "workspace"
    theirs = tmp_path / "learners" / "bob" / "workspace"
    for ws in (mine, theirs):
        ws.mkdir(parents=True)
    (theirs / "consumer.py").write_text("# bob's answer\n")
    (mine / "aws").symlink_to(home / ".aws")  # a link out of the workspace leads nowhere
    return {"home": home, "mine": mine, "theirs": theirs, "tmp": tmp_path}


def run(room: dict[str, Path], source: str, endpoint: Endpoint, *, seconds: float = 60
        ) -> tuple[dict[str, object], str, int | None]:
    """Run `source` as the learner's program; what it printed as JSON last, its output,
    its exit status."""
    (room["mine"] / "attack.py").write_text(textwrap.dedent(source))
    runner = ScenarioRunner("00-attack", "atk", endpoint, room["mine"])
    try:
        program = runner.start("attack.py", measure=False)
        # never run an attack unconfined (a disk filled by this test is a real disk)
        assert isinstance(program.proc, sandbox.ConfinedPopen), "not sandboxed"
        code = program.wait(seconds)
        output = program.output(200)
    finally:
        runner.close()
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), output, code


NOWHERE = Endpoint("http://127.0.0.1:45999", "test")  # attacks that need no LocalStack


def test_it_reads_neither_the_servers_secrets_nor_another_learners_workspace(
        room: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "server-secret")  # in the server's own environment
    targets = [room["home"] / ".aws" / "credentials", room["home"] / ".ssh" / "id_ed25519",
               room["theirs"] / "consumer.py", Path.home() / ".aws" / "credentials",
               room["mine"] / "aws" / "credentials",
               Path("/etc/shadow"), Path(tutor.__file__).parents[1] / "labs"]
    found, output, code = run(room, f"""
        import json, os
        got = {{}}
        for path in {[str(t) for t in targets]!r}:
            try:
                with open(path) as f:
                    got[path] = f.read()
            except OSError as exc:
                got[path] = None
        got["token_in_environment"] = "server-secret" in str(os.environ)
        got["token_in_any_process"] = any(
            "server-secret" in open(f"/proc/{{pid}}/environ", errors="replace").read()
            for pid in os.listdir("/proc") if pid.isdigit())
        got["server_processes_seen"] = len([p for p in os.listdir("/proc") if p.isdigit()]) > 5
        print(json.dumps(got))
    """, NOWHERE)
    assert code == 0, output
    assert found and [k for k, v in found.items() if v not in (None, False)] == [], found


def test_it_writes_nowhere_but_its_workspace(room: dict[str, Path]) -> None:
    package = Path(tutor.__file__).parent
    targets = [package / "planted.py", room["theirs"] / "consumer.py",
               room["home"] / ".bashrc", Path("/etc/planted"), Path("/usr/planted")]
    found, output, code = run(room, f"""
        import json
        done = {{}}
        for path in {[str(t) for t in targets]!r} + ["own.txt", "/tmp/scratch"]:
            try:
                with open(path, "w") as f:
                    f.write("planted")
                done[path] = True
            except OSError:
                done[path] = False
        print(json.dumps(done))
    """, NOWHERE)
    assert code == 0, output
    assert found["own.txt"] and found["/tmp/scratch"], found  # its own places work
    assert (room["mine"] / "own.txt").read_text() == "planted"
    assert not Path("/tmp/scratch").exists() or Path("/tmp/scratch").read_text() != "planted"
    assert (room["theirs"] / "consumer.py").read_text() == "# bob's answer\n"
    for path in targets:
        assert not path.exists() or path.read_text() != "planted", path


@pytest.fixture
def bystander() -> Iterator[int]:
    """A service of the server's on its loopback (another tab's web app, the tutor's own
    port): a port that is not LocalStack's."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.mark.localstack
def test_it_reaches_localstack_and_no_other_address(
        room: dict[str, Path], localstack: Endpoint, bystander: int) -> None:
    found, output, code = run(room, f"""
        import json, socket
        import boto3
        got = {{"queues": isinstance(boto3.client("sqs").list_queues(), dict)}}
        for host, port in [("127.0.0.1", {bystander}), ("{OFF_MACHINE}", 80),
                           ("8.8.8.8", 53)]:
            try:
                socket.create_connection((host, port), timeout=2).close()
                got[f"{{host}}:{{port}}"] = True
            except OSError:
                got[f"{{host}}:{{port}}"] = False
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"x", ("8.8.8.8", 53))
            got["udp"] = True
        except OSError:
            got["udp"] = False
        print(json.dumps(got))
    """, localstack)
    assert code == 0, output
    assert found.pop("queues") is True, output  # the lab still works
    assert not any(found.values()), found


def test_a_fork_bomb_is_bounded(room: dict[str, Path]) -> None:
    found, output, _code = run(room, """
        import json, os, time
        made = 0
        try:
            for _ in range(5000):
                if os.fork() == 0:
                    time.sleep(20)
                    os._exit(0)
                made += 1
        except OSError:
            pass
        print(json.dumps({"made": made}))
        os._exit(0)
    """, NOWHERE)
    assert found, output
    assert int(found["made"]) < sandbox.PROCESS_BUDGET, found  # type: ignore[call-overload]
    time.sleep(0.5)
    left = [p for p in psutil.process_iter(["cmdline"])
            if "attack.py" in " ".join(p.info["cmdline"] or [])]
    assert not left, left  # the children went with the program


def test_filling_the_disk_is_stopped(room: dict[str, Path]) -> None:
    _found, output, code = run(room, """
        import json, os
        written = {"tmp": 0, "workspace": 0}
        try:
            with open("/tmp/fill", "wb") as f:
                for _ in range(256):  # bounded even where no sandbox holds it
                    f.write(b"x" * (1 << 20)); f.flush(); written["tmp"] += 1
        except OSError:
            pass
        print(json.dumps(written), flush=True)
        try:
            for n in range(64):  # 1 GiB at most, bounded even where no sandbox holds it
                with open(f"fill-{n}.bin", "wb") as f:
                    for _ in range(16):
                        f.write(b"x" * (1 << 20))
                written["workspace"] += 16
        except OSError:
            pass
        print(json.dumps(written), flush=True)
    """, NOWHERE, seconds=120)
    assert code is not None, output
    grown = sum(p.stat().st_size for p in room["mine"].glob("fill-*.bin"))
    # stopped within one watch interval of the limit (written at page-cache speed)
    assert grown < sandbox.WORKSPACE_GROWTH + (256 << 20), f"{grown >> 20} MiB: {output}"
    assert "the sandbox stopped your program" in output, output
    assert "MiB into your workspace" in output


def test_setsid_does_not_escape(room: dict[str, Path]) -> None:
    marker = f"tutor-escape-{os.getpid()}"
    _found, output, code = run(room, f"""
        import os, subprocess, sys, time, json
        sleeper = [sys.executable, "-c", "import time; time.sleep(300)", "{marker}"]
        subprocess.Popen(["setsid", *sleeper])
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, sleeper)
            os._exit(0)
        time.sleep(1)
        print(json.dumps({{"spawned": True}}))
    """, NOWHERE)
    assert code == 0, output
    time.sleep(0.5)
    left = [p.pid for p in psutil.process_iter(["cmdline"])
            if marker in " ".join(p.info["cmdline"] or [])]
    assert not left, f"{len(left)} processes outlived the program"


def test_ports_a_stop_and_a_crash_work_as_without_it(room: dict[str, Path]) -> None:
    """A program serves a port of the run (reached from here), another calls it; SIGTERM
    reaches a program; a crash reads -9."""
    runner = ScenarioRunner("00-attack", "atk", NOWHERE, room["mine"])
    port = runner.free_port()
    (room["mine"] / "web.py").write_text(textwrap.dedent("""
        import http.server, signal, sys
        def stop(*_):
            open("stopped.txt", "w").write("SIGTERM")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        class Hello(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b"inside")
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hello).serve_forever()
    """))
    (room["mine"] / "client.py").write_text(textwrap.dedent("""
        import sys, urllib.request
        print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/").read().decode())
    """))
    try:
        web = runner.start("web.py", str(port), measure=False)
        body = b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not body:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    # to the end: the headers and the body may come through the relay in
                    # separate pieces (HTTP/1.0, so the server closes when done)
                    while chunk := conn.recv(4096):
                        body += chunk
            except OSError:
                body = b""
                time.sleep(0.2)
        assert body.endswith(b"inside"), web.output()
        client = runner.start("client.py", str(port), measure=False)  # served already: reached
        assert client.wait(20) == 0 and "inside" in client.output(), client.output()
        assert web.stop(grace=15) == 0  # a loaded machine may take a while to run its handler
        assert (room["mine"] / "stopped.txt").read_text() == "SIGTERM"
        (room["mine"] / "crash.py").write_text("import os, signal\n"
                                               "os.kill(os.getpid(), signal.SIGKILL)\n")
        crash = runner.start("crash.py", measure=False)
        assert crash.wait(20) == -9, crash.output()
    finally:
        runner.close()
