"""lab06-ingest: any record that does not parse goes back on its own."""

from __future__ import annotations

import sink
from measure import measured


@measured
def handler(event, context):
    connection = sink.connect()
    good = []
    failed = []
    for record in event.get("Records", []):
        try:
            good.append(sink.parse(record["body"]))
        except Exception as exc:  # each record on its own
            print("bad record", record.get("messageId"), exc)
            failed.append({"itemIdentifier": record.get("messageId")})
    if good:
        connection.write(good)
    return {"batchItemFailures": failed}
