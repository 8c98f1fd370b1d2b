"""`tutor serve` refuses what it should, in one line, and guards its WebSocket."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import aiohttp
import psutil
import pytest

from tutor.commands.serve import addresses, check_host, is_loopback
from tutor.engine.learner import account_for
from tutor.errors import TutorError

from .server import served, tutor

# Nothing answers here: these tests never need (or start) a LocalStack.
NOWHERE = "http://127.0.0.1:9"


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_non_loopback_host_without_public_is_refused(host: str) -> None:
    result = tutor("--endpoint", NOWHERE, "serve", "--host", host, "--port", "1")
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    assert f"Refusing to serve on {host}" in line and "--public" in line
    assert result.stdout == ""


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = tutor("--endpoint", NOWHERE, "serve", "--port", str(port))
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in one_line_error(result.stderr)


def test_bad_port_is_one_line() -> None:
    result = tutor("--endpoint", NOWHERE, "serve", "--port", "70000")
    assert result.returncode == 2
    assert "not a TCP port" in one_line_error(result.stderr)


def test_loopback_names() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.5.0.1", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "localhost.evil.example",
                                     "127.0.0.1.nip.io"]))
    assert check_host("127.0.0.1", public=False) is None
    with pytest.raises(TutorError):
        check_host("0.0.0.0", public=False)
    warning = check_host("0.0.0.0", public=True)
    assert warning and "anyone who can reach this port" in warning and "running as user" in warning


def test_public_warns_before_listening() -> None:
    # 203.0.113.77 (TEST-NET-3) is no address of this machine: the warning path runs, and
    # the bind fails, so nothing is ever opened to a network.
    own = {a.address for nic in psutil.net_if_addrs().values() for a in nic}
    assert "203.0.113.77" not in own
    result = tutor("--endpoint", NOWHERE, "serve", "--host", "203.0.113.77", "--public",
                   "--port", "8000")
    assert result.returncode == 2
    warning, error = result.stderr.strip().splitlines()
    assert warning.startswith("warning: serving on 203.0.113.77 — anyone who can reach this")
    assert error.startswith("error: Cannot listen on 203.0.113.77:8000")


def test_addresses_to_give_out() -> None:
    assert addresses("127.0.0.1", 8000) == ["http://127.0.0.1:8000"]
    assert addresses("::1", 8000) == ["http://[::1]:8000"]
    everywhere = addresses("0.0.0.0", 8000)  # learners cannot type 0.0.0.0: real addresses
    own = {a.address for nic in psutil.net_if_addrs().values() for a in nic}
    assert everywhere and all(url.split("//")[1].rsplit(":", 1)[0] in own for url in everywhere)


async def test_only_the_printed_address_gets_a_tutor(tmp_path: Path) -> None:
    with served(tmp_path, NOWHERE) as server:
        host = server.url.split("/")[2]
        assert server.page.startswith(server.url + "?token=")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            # Loopback is not "only me" (other users of the machine), nor is a classroom LAN.
            async with http.get(server.url) as page:
                assert page.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as tokenless:
                await http.ws_connect(server.ws_url())
            assert tokenless.value.status == 403
            # A page on another site may open a WebSocket to localhost: it must not get a
            # tutor even when the browser holds the cookie (SameSite is the browser's job).
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(server.ws_url(), headers={
                    "Origin": "http://evil.example", **server.cookie()})
            assert refused.value.status == 403
            # DNS rebinding: a foreign name pointing at 127.0.0.1 is not served.
            port = host.split(":")[1]
            async with http.get(server.page, headers={"Host": f"evil.example:{port}"}) as page:
                assert page.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as rebound:
                await http.ws_connect(server.ws_url(), headers={
                    "Host": f"evil.example:{port}", **server.cookie()})
            assert rebound.value.status == 403
            assert server.tabs() == [], "a refused connection must not start a tutor"
            # The printed address: the page, pointing at itself, and the token as a cookie.
            async with http.get(server.page) as page:
                assert page.status == 200
                html = await page.text()
                assert f'data-session-websocket-url="ws://{host}/ws"' in html
                assert "googleapis" not in html, "the page must load with no outside request"
                set_cookie = page.headers["Set-Cookie"]
                assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
            # The control: same origin, with the token, is served.
            tab_socket = await http.ws_connect(server.ws_url(), headers={
                "Origin": server.url.rstrip("/"), **server.cookie()})
            await tab_socket.close()
        assert server.interrupt() == 0


async def test_sessions_are_capped_and_tabs_die_with_the_server(tmp_path: Path) -> None:
    with served(tmp_path, NOWHERE, "--max-sessions", "1") as server:
        ws_url = server.ws_url("?width=80&height=24")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            first = await http.ws_connect(ws_url, headers=server.cookie())
            tab = server.wait_tab()
            with pytest.raises(aiohttp.WSServerHandshakeError) as full:
                await http.ws_connect(ws_url, headers=server.cookie())
            assert full.value.status == 503
            # The server killed outright (no clean-up of its own): the kernel ends the tab.
            os.kill(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
            killed = time.monotonic()
            deadline = killed + 10
            while tab.is_running() and tab.status() != "zombie" and time.monotonic() < deadline:
                time.sleep(0.05)
            gone_after = time.monotonic() - killed
            assert not tab.is_running() or tab.status() == "zombie", "a tab outlived its server"
            # PR_SET_PDEATHSIG kills it at once; without it, a tab lingers until its next
            # write hits the closed pipe (1.1 s measured here), or forever when idle.
            assert gone_after < 0.5, f"the tab lingered {gone_after:.2f} s"
            print(f"tab gone {gone_after:.2f} s after the server was killed")
            await first.close()


async def test_impatient_ctrl_c_stops_cleanly_with_a_tab_open(tmp_path: Path) -> None:

    with served(tmp_path, NOWHERE) as server:
        ws_url = server.ws_url()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            tab_socket = await http.ws_connect(ws_url, headers=server.cookie())
            tab = server.wait_tab()
            assert server.interrupt(times=3) == 0, server.output()
            await tab_socket.close()
        assert "Traceback" not in server.output() and "tutor serve stopped" in server.output()
        assert not tab.is_running() or tab.status() == "zombie", "the tab outlived Ctrl-C"


async def test_a_learner_in_the_address_gets_their_own_home(
        tmp_path: Path, tutor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTOR_ACCOUNT", "123456789012")  # as after `eval "$(tutor env)"`

    with served(tmp_path, NOWHERE) as server:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            async with http.get(server.page + "&learner=Ada-L") as page:
                assert page.status == 200
                assert "/ws/ada-l" in await page.text()
            for bad in ["..%2Fetc", "a%20b", "x" * 33]:
                async with http.get(server.page + "&learner=" + bad) as page:
                    assert page.status == 400
                    assert "not a valid learner id" in await page.text()
            with pytest.raises(aiohttp.WSServerHandshakeError) as bad_ws:
                await http.ws_connect(server.ws_url("/Ada%20L"), headers=server.cookie())
            assert bad_ws.value.status == 400
            assert server.tabs() == []

            tab_socket = await http.ws_connect(server.ws_url("/ada-l"), headers=server.cookie())
            tab = server.wait_tab()
            env = tab.environ()
            assert env["TUTOR_LEARNER"] == "ada-l"
            assert env["TUTOR_ACCOUNT"] == account_for("ada-l") != os.environ.get(
                "TUTOR_ACCOUNT")  # the server's own account (set below) is not inherited
            assert env["TUTOR_HOME"] == str(tutor_home / "learners" / "ada-l")
            assert env["TUTOR_WORKSPACE"] == str(tutor_home / "learners" / "ada-l" / "workspace")
            await tab_socket.close()
        assert server.interrupt() == 0


def test_public_without_a_sandbox_is_refused_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No bwrap on PATH: learner code would run unconfined as this user, so no public serve
    # at all (not a server that silently runs it unconfined).
    monkeypatch.setenv("PATH", "/nonexistent")
    result = tutor("--endpoint", NOWHERE, "serve", "--host", "203.0.113.77", "--public",
                   "--port", "8000")
    assert result.returncode == 2
    line = one_line_error(result.stderr)
    assert "Refusing to serve publicly on 203.0.113.77" in line and "bubblewrap" in line
