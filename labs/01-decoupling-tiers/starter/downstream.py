"""The downstream fulfilment service (provided by the lab: you do not edit it).

A tiny HTTP service: `POST /fulfil` with an order.v1 JSON body fulfils the order. It honours
an `Idempotency-Key` header: a key it has seen before is answered 200 without fulfilling
the order again. Every fulfilment is appended to the effects file, which survives a
restart. The lab stops, restarts and slows it down; `POST /_control {"delay": 1.5}` makes
every fulfilment take that long.

    python downstream.py --port 8702 [--delay 0] [--effects downstream.jsonl]
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from contract.order_contract import validate

state = {"delay": 0.0}
lock = threading.Lock()
seen: set[str] = set()
EFFECTS = Path("downstream.jsonl")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet: the lab shows your programs' output
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the caller gave up (timeout): the work is done anyway
            pass

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/health" else 404, {"ok": True, **state})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._reply(400, {"error": "body is not JSON"})
            return
        if self.path == "/_control":
            state["delay"] = float(body.get("delay", 0.0))
            self._reply(200, state)
            return
        if self.path != "/fulfil":
            self._reply(404, {"error": "unknown path"})
            return
        time.sleep(state["delay"])  # a slow dependency: the work takes this long
        key = self.headers.get("Idempotency-Key")
        with lock:
            if key and key in seen:
                self._reply(200, {"status": "duplicate ignored", "key": key})
                return
            if key:
                seen.add(key)
            problems = validate(body) if isinstance(body, dict) else ["$: not an object"]
            effect = {"order_id": body.get("order_id") if isinstance(body, dict) else None,
                      "key": key, "agent": self.headers.get("User-Agent", ""),
                      "contract_ok": not problems, "problems": problems[:5], "t": time.time()}
            with EFFECTS.open("a") as out:
                out.write(json.dumps(effect) + "\n")
        self._reply(200, {"status": "fulfilled", "order_id": effect["order_id"]})


def main() -> None:
    global EFFECTS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8702)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--effects", default="downstream.jsonl")
    args = parser.parse_args()
    state["delay"] = args.delay
    EFFECTS = Path(args.effects)
    if EFFECTS.exists():  # idempotency keys survive a restart
        for line in EFFECTS.read_text().splitlines():
            try:
                key = json.loads(line).get("key")
            except ValueError:
                continue
            if key:
                seen.add(key)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"downstream listening on 127.0.0.1:{args.port} (delay {args.delay} s)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
