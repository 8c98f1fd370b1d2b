"""The process inside one execution environment: LocalStack's "init", for Python handlers.

Started by the executor as `python -u -m tutor.cloud.lambda_executor.runtime` with the
function's environment. It speaks LocalStack's init protocol (see
`localstack/services/lambda_/invocation/executor_endpoint.py`):
- imports the handler, then POSTs `<LOCALSTACK_RUNTIME_ENDPOINT>/status/<id>/ready` (with
  the port it listens on) or `/status/<id>/error` with an init error in Lambda's format;
- accepts `POST /invoke` (`invoke-id`, `invoked-function-arn`, `payload`, `trace-id`),
  answers "OK" at once, runs the handler on the main thread, and POSTs the result to
  `/invocations/<id>/response` or the error to `/invocations/<id>/error`.
Whatever the handler prints goes to this process's stdout/stderr, a pipe the executor
reads: that is how logs survive a timeout kill. After each invocation a marker line
tells the executor where this invocation's output ends.
"""

from __future__ import annotations

import http.client
import importlib
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tutor.cloud.lambda_executor.context import LambdaContext

Handler = Callable[[Any, LambdaContext], Any]


class InitError(Exception):
    """A handler that cannot be loaded, with AWS's error type for it."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def die_with_parent(parent_pid: int) -> None:
    """Never outlive LocalStack: PR_SET_PDEATHSIG on Linux (SIGKILL when it dies, even by
    SIGKILL), and everywhere a watcher thread that exits once we have been orphaned."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if not parent_pid:
        return
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the line above took effect

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(2.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def load_handler(spec: str) -> Handler:
    """`module.function`, `pkg/sub/mod.function` or `pkg.sub.mod.function`, as awslambdaric."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise InitError("Runtime.BuiltInModuleConflict",
                        f"Cannot use built-in module {module_name} as a handler module")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError",
                        f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise InitError("Runtime.UserCodeSyntaxError",
                        f"Syntax error in module '{module_name}': {exc}", trace) from None
    except Exception as exc:  # the module itself raised while being imported
        raise InitError(type(exc).__name__, str(exc), stack_trace(exc.__traceback__)) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitError("Runtime.HandlerNotFound",
                        f"Handler '{function_name}' missing on module '{module_name}'")
    if not callable(handler):
        raise InitError("Runtime.HandlerNotFound",
                        f"Handler '{function_name}' on module '{module_name}' is not callable")
    return handler


def stack_trace(tb: TracebackType | None) -> list[str]:
    return traceback.format_list(traceback.extract_tb(tb))


def error_body(error_type: str, message: str, trace: list[str], request_id: str = "") -> bytes:
    """Lambda's error document, as the Python runtime interface client builds it."""
    return json.dumps({"errorMessage": message, "errorType": error_type,
                       "requestId": request_id, "stackTrace": trace}).encode()


def log_error(error_type: str, message: str, trace: list[str]) -> None:
    """The `[ERROR]` record AWS's Python runtime writes to the function's log."""
    lines = [f"[ERROR] {error_type}: {message}"]
    if trace:
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in trace)
    sys.stderr.write("\n".join(lines) + "\n")


class Upstream:
    """Callbacks to LocalStack's executor endpoint over one keep-alive connection."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> int:
        last: Exception | None = None
        for attempt in range(4):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.request("POST", self.prefix + path, body=body,
                                  headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                last = exc
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(0.05 * (attempt + 1))
        assert last is not None
        raise last


def serve_invokes(inbox: queue.Queue[dict[str, Any]], timeout_s: int) -> ThreadingHTTPServer:
    """Listen on a free loopback port for LocalStack's `POST /invoke`."""

    class InvokeRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; without this, Nagle and delayed ACKs
        # add ~40 ms to every invoke.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/invoke":
                self._reply(404, b"not found")
                return
            try:
                item = json.loads(body)
            except ValueError:
                self._reply(400, b"invalid invoke request")
                return
            item["_deadline_ms"] = int(time.time() * 1000) + timeout_s * 1000
            inbox.put(item)
            self._reply(200, b"OK")

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # anything on stderr would end up in the function's logs

    # A sandboxed runtime (lambda_executor/confine.py) is given the port its sandbox serves.
    port = int(os.environ.pop("_TUTOR_RUNTIME_PORT", "0") or 0)
    server = ThreadingHTTPServer(("127.0.0.1", port), InvokeRequestHandler)
    server.daemon_threads = True
    return server


def run_invoke(handler: Handler, item: dict[str, Any]) -> tuple[str, bytes]:
    """Call the handler once; return which callback to use and its body."""
    request_id = str(item.get("invoke-id", ""))
    if item.get("trace-id"):
        os.environ["_X_AMZN_TRACE_ID"] = str(item["trace-id"])
    context = LambdaContext(request_id, str(item.get("invoked-function-arn", "")),
                            int(item["_deadline_ms"]))
    raw = item.get("payload")
    try:
        event = json.loads(raw) if raw else {}
    except ValueError as exc:
        message = f"Unable to unmarshal input: {exc}"
        log_error("Runtime.UnmarshalError", message, [])
        return "error", error_body("Runtime.UnmarshalError", message, [], request_id)
    try:
        result = handler(event, context)
    except Exception as exc:
        # Drop our own frame: the trace starts in the learner's code, as on AWS.
        trace = stack_trace(exc.__traceback__.tb_next if exc.__traceback__ else None)
        log_error(type(exc).__name__, str(exc), trace)
        return "error", error_body(type(exc).__name__, str(exc), trace, request_id)
    try:
        return "response", json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        log_error("Runtime.MarshalError", message, [])
        return "error", error_body("Runtime.MarshalError", message, [], request_id)


def main() -> int:
    mark = os.environ.pop("_TUTOR_LOG_MARK", "")
    die_with_parent(int(os.environ.pop("_TUTOR_PARENT_PID", "0") or 0))
    runtime_id = os.environ["LOCALSTACK_RUNTIME_ID"]
    upstream = Upstream(os.environ["LOCALSTACK_RUNTIME_ENDPOINT"])
    # `-m` put the working directory first on sys.path; the task root belongs there.
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]
    timeout_s = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)

    inbox: queue.Queue[dict[str, Any]] = queue.Queue()
    server = serve_invokes(inbox, timeout_s)
    # A long poll interval: requests are served at once; it only sets idle wake-ups.
    threading.Thread(target=server.serve_forever, args=(30.0,), name="invoke-listener",
                     daemon=True).start()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except InitError as exc:
        log_error(exc.error_type, exc.message, exc.trace)
        upstream.post(f"/status/{runtime_id}/error",
                      error_body(exc.error_type, exc.message, exc.trace))
        return 1
    upstream.post(f"/status/{runtime_id}/ready",
                  json.dumps({"port": server.server_address[1], "pid": os.getpid()}).encode())

    while True:
        item = inbox.get()
        outcome, body = run_invoke(handler, item)
        sys.stdout.flush()
        sys.stderr.flush()
        # The executor cuts this invocation's logs at the marker, then takes the result.
        os.write(1, f"\x1e{mark}:{item.get('invoke-id', '')}\x1e".encode())
        upstream.post(f"/invocations/{item.get('invoke-id', '')}/{outcome}", body)


if __name__ == "__main__":
    raise SystemExit(main())
