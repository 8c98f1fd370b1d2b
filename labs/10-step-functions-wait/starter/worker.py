"""The warehouse worker: takes packing tasks from lab10-tasks and reports to Step Functions."""

from __future__ import annotations

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3

import warehouse

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
sqs = boto3.client("sqs")
sfn = boto3.client("stepfunctions")
stopping = threading.Event()


def handle(queue_url: str, message: dict) -> None:
    task = json.loads(message["Body"])
    order = task.get("order", task)
    # TODO: read the task token your workflow put in the message.
    try:
        # TODO: while packing, tell Step Functions that you are still alive (on_step=...).
        shipment = warehouse.pack(order)
        # TODO: report success, with the shipment as the task's output.
        print("packed", order.get("order_id"), shipment["tracking"], flush=True)
    except warehouse.InvalidOrder as exc:
        # TODO: report a failure with the error code `Order.Invalid` and a cause.
        print("rejected", order.get("order_id"), exc, flush=True)
    except warehouse.Busy as exc:
        # TODO: report a failure with the error code `Warehouse.Busy`.
        print("busy", order.get("order_id"), exc, flush=True)
    # TODO: what if the workflow already gave up on this task when you report?
    # TODO: when is it safe to delete the message?


def main() -> None:
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}tasks")["QueueUrl"]
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with ThreadPoolExecutor(max_workers=4) as pool:
        while not stopping.is_set():
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=2)
            for message in reply.get("Messages", []):
                pool.submit(handle, queue_url, message)


if __name__ == "__main__":
    main()
