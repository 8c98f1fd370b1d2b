"""`fetch` against things that are not the tutor's LocalStack: no route, wrong JSON, nobody."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from tutor.cloud.embedded import free_port
from tutor.engine.observe.trace import NOT_AVAILABLE, fetch
from tutor.errors import LocalStackUnreachable, UnsafeEndpoint


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 404
    body = b"<Error><Code>NoSuchBucket</Code></Error>"  # what an S3 catch-all answers

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    status, body = request.param
    handler = type("H", (_Handler,), {"status": status, "body": body})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("server", [(404, _Handler.body), (200, b"<html>hi</html>"),
                                    (200, b'{"events": 3}')], indirect=True)
def test_a_server_without_the_route_is_not_available(server: str) -> None:
    batch = fetch(server, since=7)
    assert not batch.available and batch.events == [] and batch.next_seq == 7
    assert batch.reason.startswith(NOT_AVAILABLE)


@pytest.mark.parametrize("server", [(200, b'{"events": [], "next": 0, "dropped": 0, '
                                          b'"enabled": false}')], indirect=True)
def test_a_recorder_switched_off_says_so(server: str) -> None:
    batch = fetch(server)
    assert not batch.available and "TUTOR_SQS_TRACE=0" in batch.reason


def test_nobody_listening_is_the_usual_unreachable_error() -> None:
    with pytest.raises(LocalStackUnreachable):
        fetch(f"http://127.0.0.1:{free_port()}")


def test_the_guard_refuses_a_remote_host_before_any_request() -> None:
    with pytest.raises(UnsafeEndpoint):
        fetch("http://192.0.2.10:4566")
