"""lab06-ingest: store a batch of events in the warehouse, reporting only the bad ones."""

from __future__ import annotations

import sink
from measure import measured


@measured
def handler(event: dict, context: object) -> dict:
    connection = sink.connect()
    rows = []
    for record in event["Records"]:
        try:
            rows.append(sink.parse(record["body"]))
        except sink.BadRecord:
            return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    connection.write(rows)
    return {"batchItemFailures": []}
