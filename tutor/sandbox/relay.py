"""The tutor's end of a sandbox's network (`Confinement` makes one per program)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path


class Relay:
    """The tutor's end of the sandbox's network: Unix sockets in the sandbox carried to
    LocalStack's TCP port and to the run's other ports, and each served port carried in."""

    def __init__(self, sockets: Path, endpoint: tuple[str, int], served: list[int],
                 reached: list[int]) -> None:
        self.sockets, self.endpoint = sockets, endpoint
        self.served, self.reached = served, reached
        self._servers: list[asyncio.Server] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="tutor-sandbox")
        self._thread.start()
        self._ready.wait(10)
        if self._failed is not None:
            raise self._failed

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as exc:
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        from tutor.sandbox.inside import joining, tcp, unix

        inward = {"localstack.sock": self.endpoint,
                  **{f"reach-{p}.sock": ("127.0.0.1", p) for p in self.reached}}
        for name, (host, port) in inward.items():
            self._servers.append(await asyncio.start_unix_server(
                joining(tcp(host, port)), str(self.sockets / name)))
        for served in self.served:
            self._servers.append(await asyncio.start_server(
                joining(unix(str(self.sockets / f"serve-{served}.sock"))), "127.0.0.1",
                served, reuse_address=True))

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()  # the served ports are free again at once (the next run's)
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:  # connections still open: the program has ended
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(3)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running():
            pending = asyncio.all_tasks(self._loop)  # connections accepted while stopping
            for task in pending:
                task.cancel()
            if pending:
                with contextlib.suppress(Exception):
                    self._loop.run_until_complete(
                        asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()
