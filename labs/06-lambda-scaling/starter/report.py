"""What did the function do in the last minutes? Batch sizes and concurrency (given).

    python report.py [minutes]     (default 5)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab06-")


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    logs = boto3.client("logs")
    group = f"/aws/lambda/{PREFIX}ingest"
    batches = []
    kwargs = {"logGroupName": group, "startTime": int((time.time() - 60 * minutes) * 1000)}
    for _ in range(20):
        page = logs.filter_log_events(**kwargs)
        for event in page.get("events", []):
            if event["message"].startswith('{"lab06": "batch"'):
                batches.append(json.loads(event["message"]))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    if not batches:
        print(f"no invocation logged in {group} during the last {minutes:g} min")
        return
    sizes = Counter(b["size"] for b in batches)
    print(f"{len(batches)} invocations, {sum(b['size'] for b in batches)} records")
    for size in sorted(sizes):
        print(f"  batch of {size:3d}: {'#' * sizes[size]} {sizes[size]}")
    edges = sorted([(b["start"], 1) for b in batches] + [(b["end"], -1) for b in batches],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    print(f"peak concurrency: {peak}")
    print(f"failed items reported: {sum(b['failed'] or 0 for b in batches)}, "
          f"invocations that raised: {sum(1 for b in batches if b['error'])}")


if __name__ == "__main__":
    main()
