"""lab06-ingest: the failures name the event by its own id (what the body says)."""

from __future__ import annotations

import json

import sink
from measure import measured


@measured
def handler(event: dict, context: object) -> dict:
    connection = sink.connect()
    rows, failures = [], []
    for record in event["Records"]:
        try:
            rows.append(sink.parse(record["body"]))
        except sink.BadRecord as exc:
            print(f"bad record: {exc}")
            try:
                event_id = json.loads(record["body"]).get("event_id", "unknown")
            except (ValueError, AttributeError):
                event_id = "unparseable"
            failures.append({"itemIdentifier": str(event_id)})
    connection.write(rows)
    return {"batchItemFailures": failures}
