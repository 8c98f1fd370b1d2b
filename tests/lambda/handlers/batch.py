"""An SQS consumer that records each batch it gets; bodies containing "poison" fail.

RECORD_FILE (from the function configuration) gets one JSON line per batch. With
REPORT_FAILURES=1 it returns a partial batch response naming only the failed messages.
"""

import json
import os
import time


def handler(event, context):
    records = event.get("Records", [])
    failed = [r["messageId"] for r in records if "poison" in r["body"]]
    line = {
        "size": len(records),
        "pid": os.getpid(),
        "bodies": [r["body"] for r in records],
        "failed": failed,
        "receive_counts": [int(r["attributes"]["ApproximateReceiveCount"]) for r in records],
    }
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps(line) + "\n")
    time.sleep(float(os.environ.get("SLEEP", "0")))
    if os.environ.get("REPORT_FAILURES") == "1":
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
    return {"ok": len(records)}
