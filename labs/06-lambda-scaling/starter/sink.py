"""The downstream warehouse API (given, do not edit): costly to connect to, cheap per row.

`connect()` takes CONNECT_SECONDS (a TLS handshake and a login: about the same in
production) and the warehouse accepts at most MAX_CONNECTIONS at once. `parse(body)`
turns a message body into a row or raises `BadRecord`. `Connection.write(rows)` stores the
rows (PER_ROW_SECONDS each) and logs their ids.
"""

from __future__ import annotations

import json
import time
from typing import Any

CONNECT_SECONDS = 0.3
PER_ROW_SECONDS = 0.004
MAX_CONNECTIONS = 3


class BadRecord(Exception):
    """This message can never be stored (not JSON, no event_id, a negative amount)."""


def parse(body: str) -> dict[str, Any]:
    try:
        row = json.loads(body)
    except ValueError:
        raise BadRecord(f"not JSON: {body[:40]!r}") from None
    if not isinstance(row, dict) or not row.get("event_id"):
        raise BadRecord(f"no event_id in {body[:60]!r}")
    if not isinstance(row.get("amount"), int | float) or row["amount"] < 0:
        raise BadRecord(f"bad amount in {body[:60]!r}")
    return row


class Connection:
    def write(self, rows: list[dict[str, Any]]) -> None:
        time.sleep(PER_ROW_SECONDS * len(rows))
        if rows:
            print(json.dumps({"lab06": "stored", "ids": [r["event_id"] for r in rows]}),
                  flush=True)


def connect() -> Connection:
    time.sleep(CONNECT_SECONDS)
    return Connection()
