"""Keeping a LocalStack connection for a long-running session (the TUI), headless.

`ConnectionMonitor.run()` blocks (run it in a worker thread): it resolves the endpoint,
starts an embedded LocalStack when none is found, then keeps probing health and reports
every change of state through a callback: booting -> ready -> lost -> ready ...
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tutor.cloud import endpoint as ep
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.cloud.health import probe
from tutor.errors import TutorError

POLL_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionState:
    phase: str  # "booting" | "ready" | "lost" | "failed"
    detail: str
    endpoint: ep.Endpoint | None = None
    fix: str = ""


class ConnectionMonitor:
    def __init__(self, explicit: str | None,
                 on_change: Callable[[ConnectionState], None]) -> None:
        self.explicit = explicit
        self.on_change = on_change
        self.embedded: EmbeddedLocalStack | None = None
        self._stop = threading.Event()
        self._last: ConnectionState | None = None

    def _emit(self, state: ConnectionState) -> None:
        if state != self._last:
            self._last = state
            self.on_change(state)

    def run(self) -> None:
        try:
            self._emit(ConnectionState("booting", "Looking for LocalStack ..."))
            found = ep.resolve(self.explicit)
            if found is None:
                self.embedded = EmbeddedLocalStack()
                found = self.embedded.start(
                    progress=lambda line: self._emit(ConnectionState("booting", line)))
        except TutorError as exc:
            self._emit(ConnectionState("failed", exc.message, fix=exc.fix))
            return
        ep.set_active(found)
        while not self._stop.is_set():
            health = probe(found.url, timeout=1.5)
            if health.reachable:
                self._emit(ConnectionState(
                    "ready", f"LocalStack {health.version} at {found.url} ({found.source})",
                    found))
            else:
                self._emit(ConnectionState(
                    "lost", f"LocalStack at {found.url} stopped answering ({health.error})",
                    found, fix="restart it with `tutor localstack up`, or restart the tutor"))
            self._stop.wait(POLL_SECONDS)

    def stop_polling(self) -> None:
        """Let `run()` return (the app calls this as it unmounts)."""
        self._stop.set()

    def close(self, wait: bool = True) -> None:
        """Stop polling and the embedded LocalStack, if this session started one.

        With `wait=False` the watchdog is told to stop LocalStack and the tutor does not
        wait for it: quitting stays instant, and the watchdog finishes the job alone.
        """
        self._stop.set()
        if self.embedded is not None:
            self.embedded.stop(wait=wait)
            self.embedded = None
