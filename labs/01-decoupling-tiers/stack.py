"""Lab 01's moving parts for scenarios: free ports, an HTTP client, the three processes."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from tutor.engine.labs.checks import CheckContext, ScenarioFailed, percentile
from tutor.engine.labs.scenario import Program


def http(method: str, url: str, body: dict[str, Any] | None = None,
         timeout: float = 5.0) -> tuple[int, float, str]:
    """(status, seconds, text); status 0 when the connection failed or timed out."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, time.monotonic() - start, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - start, exc.read().decode(errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return 0, time.monotonic() - start, str(exc)


def post_orders(base: str, orders: list[dict[str, Any]], threads: int = 5,
                 rate: float | None = None) -> list[dict[str, Any]]:
    """POST every order to the frontend from `threads` clients, paced to `rate`/s."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    index = iter(range(len(orders)))
    start = time.monotonic()

    def client() -> None:
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            status, seconds, text = http("POST", f"{base}/orders", orders[i], timeout=6)
            with lock:
                results.append({"order_id": orders[i]["order_id"], "status": status,
                                "seconds": round(seconds, 4), "reply": text[:160]})

    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    return results


def p95(values: list[float]) -> float:
    return percentile(values, 0.95)


def wait_healthy(ctx: CheckContext, program: Program, port: int, what: str) -> None:
    ok = ctx.runner.wait_until(
        lambda: not program.alive or http("GET", f"http://127.0.0.1:{port}/health",
                                           timeout=0.5)[0] == 200, timeout=20, interval=0.1)
    if not ok or not program.alive:
        raise ScenarioFailed(f"{what} did not start (no answer on port {port})",
                             program.output(), fix=f"run `python {program.name}` yourself "
                             "to see the error")


class Refuser:
    """A downstream that is down and counts who called it: it listens on the port and
    resets every connection at once (the caller sees the connection fail, as with no
    server at all), so a scenario knows the consumer met the outage instead of hoping a
    fixed wait was long enough for it to start."""

    def __init__(self, port: int) -> None:
        self.attempts = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._open = True
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name="lab01-refuser")
        self._thread.start()

    def _serve(self) -> None:
        while self._open:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.attempts += 1
            # SO_LINGER 0: close sends RST, the caller's connect/read fails at once.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def close(self) -> None:
        self._open = False
        self._thread.join(2.0)
        self._sock.close()


class Stack:
    """The lab's three processes on free ports: downstream, frontend, a consumer."""

    def __init__(self, ctx: CheckContext, run: str) -> None:
        self.ctx = ctx
        self.run = run
        # the runner's ports: in a sandbox, each is carried to the program serving it
        self.down_port = ctx.runner.free_port()
        self.front_port = ctx.runner.free_port()
        self.env = {"DOWNSTREAM_URL": f"http://127.0.0.1:{self.down_port}"}
        self.downstream: Program | None = None
        self.frontend: Program | None = None
        self.consumer: Program | None = None
        self.refuser: Refuser | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    def refuse_downstream(self) -> Refuser:
        """Downstream down, with its callers counted (see Refuser)."""
        self.refuser = Refuser(self.down_port)
        return self.refuser

    def start_downstream(self, delay: float = 0.0) -> None:
        if self.refuser is not None:
            self.refuser.close()
        self.downstream = self.ctx.runner.start(
            "downstream.py", "--port", str(self.down_port), "--delay", str(delay),
            "--effects", "downstream.jsonl", measure=False)
        wait_healthy(self.ctx, self.downstream, self.down_port, "downstream.py")

    def stop_downstream(self) -> None:
        if self.downstream is not None:
            self.downstream.stop(grace=1.0)

    def set_delay(self, delay: float) -> None:
        http("POST", f"http://127.0.0.1:{self.down_port}/_control", {"delay": delay},
              timeout=2)

    def start_frontend(self) -> None:
        self.frontend = self.ctx.runner.start("frontend.py", "--port", str(self.front_port),
                                              env=self.env)
        wait_healthy(self.ctx, self.frontend, self.front_port, "frontend.py")

    def start_consumer(self, program: str, restarts: int = 0,
                       env: dict[str, str] | None = None) -> None:
        """Start a consumer; with `restarts`, a supervisor starts it again after a crash."""
        self.consumer = self.ctx.runner.start(program, env={**self.env, **(env or {})},
                                              restarts=restarts)

    def outputs(self) -> dict[str, str]:
        """The last lines each program printed; a last line says how one that ended by
        itself ended (its code or signal), which its own output may not say."""
        return {p.name: p.output(12) + (f"\n[{p.name} {p.ending()}]" if p.ending() else "")
                for p in (self.frontend, self.consumer, self.downstream) if p is not None}
