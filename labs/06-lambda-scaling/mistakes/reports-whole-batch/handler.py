"""lab06-ingest: when a batch has a bad record, send the whole batch back to be safe."""

from __future__ import annotations

import sink
from measure import measured


@measured
def handler(event: dict, context: object) -> dict:
    connection = sink.connect()
    rows, bad = [], False
    for record in event["Records"]:
        try:
            rows.append(sink.parse(record["body"]))
        except sink.BadRecord as exc:
            print(f"bad record {record['messageId']}: {exc}")
            bad = True
    connection.write(rows)
    if bad:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"]]}
    return {"batchItemFailures": []}
