"""The web tier: accepts orders over HTTP and must answer fast, whatever happens behind it.

    POST /orders  {"order_id": "...", "customer": "...", "items": [{"sku": "...", "qty": 1}],
                   "total_cents": 1250}
    GET  /health

Run by the lab as `python frontend.py --port P` with DOWNSTREAM_URL in the environment
(you can run it yourself too, with downstream.py beside it).
"""

import argparse
import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")
DOWNSTREAM_URL = os.environ.get("DOWNSTREAM_URL", "http://127.0.0.1:8702")

sqs = boto3.client("sqs")


def to_contract(order: dict) -> dict:
    """The order.v1 message (see contract/order.v1.schema.json) for a client's order."""
    return {
        "contract": "order.v1",
        "order_id": str(order["order_id"]),
        "customer": str(order["customer"]),
        "items": [{"sku": str(i["sku"]), "qty": int(i["qty"])} for i in order["items"]],
        "total_cents": int(order["total_cents"]),
        "accepted_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"),
    }


def accept_order(order: dict) -> tuple[int, dict]:
    """Handle one order; returns (HTTP status, JSON response)."""
    message = to_contract(order)
    # TODO: the web tier calls the fulfilment service directly and waits for it. When it
    #       is slow, every customer waits; when it is down, the order is refused (and
    #       lost). Publish `message` to the queue `lab01-orders` instead and answer
    #       202 Accepted at once: what does the web tier then depend on? And if SQS
    #       refuses the message, what has a 202 promised the client?
    request = urllib.request.Request(
        f"{DOWNSTREAM_URL}/fulfil", data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 201, {"order_id": message["order_id"], "status": "fulfilled",
                         "downstream": json.loads(response.read() or b"{}")}
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return 502, {"order_id": message["order_id"], "error": f"fulfilment failed: {exc}"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/health" else 404, {"ok": self.path == "/health"})

    def do_POST(self) -> None:
        if self.path != "/orders":
            self._reply(404, {"error": "unknown path"})
            return
        try:
            order = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            status, body = accept_order(order)
        except (ValueError, KeyError, TypeError) as exc:
            status, body = 400, {"error": f"bad order: {exc}"}
        self._reply(status, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8701)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"frontend listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
