"""Trace test helpers: fresh queue names, and waiting for events to show up."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.observe.trace import TraceEvent, fetch


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_for(endpoint: Endpoint, queues: list[str],
             done: Callable[[list[TraceEvent]], bool], timeout: float = 15.0) -> list[TraceEvent]:
    """Events of `queues` (oldest first) once `done(events)` holds; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        seen: dict[int, TraceEvent] = {}
        for queue in queues:
            batch = fetch(endpoint, queue=queue)
            assert batch.available, batch.reason
            seen.update((e.seq, e) for e in batch.events)
        events = [seen[s] for s in sorted(seen)]
        if done(events):
            return events
        if time.monotonic() > deadline:
            pytest.fail(f"trace never got there; last events: {[e.kind for e in events]}")
        time.sleep(0.2)


class _NoRoute(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def without_trace() -> Iterator[str]:
    """The URL of a server that answers 404 everywhere: a LocalStack without the trace."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoRoute)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
