"""lab06-ingest: report the bad records, and raise so the invocation counts as failed."""

from __future__ import annotations

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
            print(f"bad record {record['messageId']}: {exc}")
            failures.append({"itemIdentifier": record["messageId"]})
    connection.write(rows)
    if failures:
        raise RuntimeError(f"{len(failures)} bad records: {failures}")
    return {"batchItemFailures": failures}
