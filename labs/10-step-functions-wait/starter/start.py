"""Start a few sample orders on the workflow and print how each execution ended (given).

Run it while `worker.py` runs in another terminal:  python start.py
"""

from __future__ import annotations

import json
import os
import time
import uuid

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
STATE_MACHINE = f"{PREFIX}fulfilment"

SAMPLES = [
    {"items": [{"sku": "SKU-BOOK", "qty": 2}]},
    {"items": [{"sku": "SKU-MUG", "qty": 1}], "simulate": "busy"},
    {"items": [{"sku": "SKU-DESK", "qty": 1}], "simulate": "slow"},
    {"items": [{"sku": "BANANA", "qty": 0}]},
]


def main() -> None:
    sfn = boto3.client("stepfunctions")
    machines = [m for m in sfn.list_state_machines()["stateMachines"]
                if m["name"] == STATE_MACHINE]
    if not machines:
        raise SystemExit(f"no state machine {STATE_MACHINE}: run `python deploy.py` first")
    arn = machines[0]["stateMachineArn"]
    runs = {}
    for sample in SAMPLES:
        order = {"order_id": f"o-{uuid.uuid4().hex[:6]}", **sample}
        runs[order["order_id"]] = sfn.start_execution(stateMachineArn=arn,
                                                      input=json.dumps(order))["executionArn"]
        print("started", order["order_id"], sample.get("simulate", ""), order["items"])
    deadline = time.monotonic() + 40
    pending = dict(runs)
    while pending and time.monotonic() < deadline:
        for order_id, execution in list(pending.items()):
            info = sfn.describe_execution(executionArn=execution)
            if info["status"] != "RUNNING":
                del pending[order_id]
                print(f"{order_id}: {info['status']} {info.get('error', '')} "
                      f"{info.get('output', info.get('cause', ''))}")
        time.sleep(0.5)
    for order_id in pending:
        print(f"{order_id}: still RUNNING after 40 s (is worker.py running? "
              "does the task have a TimeoutSeconds?)")


if __name__ == "__main__":
    main()
