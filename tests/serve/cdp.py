"""A small Chrome DevTools Protocol client (aiohttp) and a headless Debian Chromium to drive."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get update && apt-get install -y chromium  (or: make browser)"
# The flags this machine needs (closed network, root, no GPU); see the environment notes.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--window-size=1280,800", "--remote-debugging-port=0"]


class CDPError(RuntimeError):
    pass


class Page:
    """One page target: commands by id, events kept in order for the test to read."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(CDPError("DevTools connection closed"))

    async def send(self, method: str, timeout: float = 15, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ident] = future
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png", timeout=30)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def press(self, key: str, code: str, text: str, key_code: int,
                    modifiers: int = 0) -> None:
        """A real key press as the browser's input pipeline sees it (keyDown+char, keyUp)."""
        common = {"key": key, "code": code, "windowsVirtualKeyCode": key_code,
                  "modifiers": modifiers}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text=text, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    def frames(self, kind: str) -> list[str]:
        """Payloads of WebSocket frames the page received (kind="Received") or sent."""
        name = f"Network.webSocketFrame{kind}"
        return [e["params"]["response"]["payloadData"] for e in self.events
                if e.get("method") == name]

    async def wait_for(self, what: str, predicate: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(0.1)
        raise TimeoutError(f"waited {timeout:.0f} s for {what}")


def received_text(page: Page) -> str:
    """What the server sent the terminal, as text: binary frames arrive base64-encoded;
    escape sequences are dropped, so runs of plain characters can be searched."""
    import re

    chunks = []
    for payload in page.frames("Received"):
        try:
            raw = base64.b64decode(payload, validate=True).decode("utf-8", "replace")
        except ValueError:
            raw = payload
        chunks.append(raw)
    text = "".join(chunks)
    return re.sub(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[@-_][0-?]*[ -/]*[@-~]?", "", text)


@contextlib.asynccontextmanager
async def chromium(profile: Path, log: Path) -> AsyncIterator[Page]:
    """Start headless Chromium in its own process group; kill the group on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                                 "about:blank"], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CDPError(f"Chromium did not open DevTools; its log:\n{log.read_text()}")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as reply:
                targets = await reply.json()
            target = next(t for t in targets if t.get("type") == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                try:
                    yield page
                finally:
                    page.reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await page.reader
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
