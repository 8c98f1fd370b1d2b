"""Keeping a LocalStack connection for a long-running session (the TUI), headless.

`ConnectionMonitor.run()` blocks (run it in a worker thread): it resolves the endpoint,
starts an embedded LocalStack when none is found, then keeps probing health and reports
every change of state through a callback: booting -> ready -> lost -> ready ...
A lost embedded LocalStack can be started again with `restart()` (from another thread);
an external one cannot, and the state's `fix` says how to start it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tutor.cloud import endpoint as ep
from tutor.errors import TutorError

if TYPE_CHECKING:  # both import the HTTP stack: not before the app's first frame
    from tutor.cloud.embedded import EmbeddedLocalStack

# A probe a second: a killed LocalStack refuses connections at once, so the loss is
# noticed within POLL_SECONDS (+ PROBE_TIMEOUT when it hangs instead of dying).
POLL_SECONDS = 1.0
PROBE_TIMEOUT = 1.5
SHELL_HINT = 'eval "$(tutor env)"'


@dataclass(frozen=True)
class ConnectionState:
    phase: str  # "booting" | "ready" | "lost" | "failed"
    detail: str
    endpoint: ep.Endpoint | None = None
    fix: str = ""
    restartable: bool = False  # lost, and ours: `ConnectionMonitor.restart()` can help
    since: float = 0.0  # time.monotonic() when the phase began (lost: when noticed)


def external_fix(endpoint: ep.Endpoint) -> str:
    """How to bring back a LocalStack the tutor did not start, by how it was found."""
    if endpoint.source == "tutor localstack up":
        return "start it again with `tutor localstack up` (the tutor reconnects by itself)"
    if endpoint.source.startswith("embedded in tutor session"):
        return "it belonged to another `tutor` window: start that again, or restart this one"
    return (f"start your LocalStack again at {endpoint.url} (e.g. `tutor localstack up`, "
            "or your Docker container); the tutor reconnects by itself")


class ConnectionMonitor:
    def __init__(self, explicit: str | None,
                 on_change: Callable[[ConnectionState], None], *,
                 resolve: Callable[[str | None], ep.Endpoint | None] = ep.resolve,
                 account: str | None = None) -> None:
        self.explicit = explicit
        self.account = account  # the learner's, resolved by the app (None: as resolved)
        self.on_change = on_change
        self.resolve = resolve  # tests pass `lambda _: None` to force an embedded one
        self.embedded: EmbeddedLocalStack | None = None
        self.endpoint: ep.Endpoint | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one restart at a time; no probe reports during it
        self._restarting = False
        self._last: ConnectionState | None = None

    def _emit(self, state: ConnectionState) -> None:
        if self._last is not None and (state.phase, state.detail, state.endpoint) == (
                self._last.phase, self._last.detail, self._last.endpoint):
            return
        self._last = state
        self.on_change(state)

    @property
    def state(self) -> ConnectionState | None:
        return self._last

    def _bound(self, found: ep.Endpoint) -> ep.Endpoint:
        return found if self.account is None else replace(found, account=self.account)

    def _start_embedded(self, port: int | None = None) -> ep.Endpoint:
        from tutor.cloud.embedded import EmbeddedLocalStack

        self.embedded = EmbeddedLocalStack(port=port)
        return self._bound(self.embedded.start(progress=lambda line: self._emit(
            ConnectionState("booting", line, since=time.monotonic()))))

    def run(self) -> None:
        try:
            self._emit(ConnectionState("booting", "Looking for LocalStack ...",
                                       since=time.monotonic()))
            found = self.resolve(self.explicit)
            found = self._start_embedded() if found is None else self._bound(found)
        except TutorError as exc:
            self._emit(ConnectionState("failed", exc.message, fix=exc.fix,
                                       since=time.monotonic()))
            return
        self.endpoint = found
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(POLL_SECONDS)

    def poll_once(self) -> None:
        """Probe once and report the state (nothing while a restart is under way)."""
        found = self.endpoint
        if found is None or self._restarting:
            return
        from tutor.cloud.health import probe

        health = probe(found.url, timeout=PROBE_TIMEOUT)
        if self._restarting or found is not self.endpoint:
            return  # a restart began meanwhile: this probe is about the old one
        now = time.monotonic()
        if health.reachable:
            self._emit(ConnectionState(
                "ready", f"LocalStack {health.version} at {found.url}, {found.source}",
                found, since=now))
        elif self.embedded is not None:
            code = self.embedded_exit_code()
            why = f"exited (code {code})" if code is not None else \
                f"stopped answering ({health.error})"
            self._emit(ConnectionState(
                "lost", f"The embedded LocalStack at {found.url} {why}", found,
                fix="press ctrl+r to restart it (your progress and workspace are kept)",
                restartable=True, since=now))
        else:
            self._emit(ConnectionState(
                "lost", f"LocalStack at {found.url} stopped answering ({health.error})",
                found, fix=external_fix(found), since=now))

    def embedded_exit_code(self) -> int | None:
        """The watchdog's exit code once it ended (it ends when LocalStack exits)."""
        launch = getattr(self.embedded, "_launch", None)
        proc = getattr(launch, "proc", None)
        return proc.poll() if proc is not None else None

    @property
    def can_restart(self) -> bool:
        return self.embedded is not None and not self._restarting

    def restart(self) -> ep.Endpoint:
        """Stop what is left of the embedded LocalStack and boot a fresh one (blocking).

        The same port when it is free, so the learner's shell (`tutor env`) keeps working;
        LocalStack's resources are gone (it keeps no state), the learner's files and
        progress are not touched. A TutorError when there is nothing of ours to restart.
        """
        with self._lock:
            old = self.embedded
            if old is None:
                raise TutorError("This LocalStack was not started by the tutor",
                                 "Cannot restart",
                                 external_fix(self.endpoint) if self.endpoint else "")
            self._restarting = True
            try:
                self._emit(ConnectionState("booting", f"Restarting LocalStack on {old.url} ...",
                                           self.endpoint, since=time.monotonic()))
                old.stop(wait=True)
                from tutor.cloud.embedded import port_is_free

                port = old.port if port_is_free(old.port) else None
                try:
                    found = self._start_embedded(port)
                except TutorError as exc:
                    self._emit(ConnectionState("failed", exc.message, fix=exc.fix,
                                               since=time.monotonic()))
                    raise
                self.endpoint = found
            finally:
                self._restarting = False
        self.poll_once()
        return found

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
