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
    token, order = task["taskToken"], task["order"]
    try:
        # A heartbeat after every packing step: the workflow's HeartbeatSeconds notices a
        # dead worker within seconds instead of waiting for the whole TimeoutSeconds.
        shipment = warehouse.pack(order, on_step=lambda: sfn.send_task_heartbeat(
            taskToken=token))
        sfn.send_task_success(taskToken=token, output=json.dumps(shipment))
        print("packed", order.get("order_id"), shipment["tracking"], flush=True)
    except warehouse.InvalidOrder as exc:
        sfn.send_task_failure(taskToken=token, error="Order.Invalid", cause=str(exc))
        print("rejected", order.get("order_id"), exc, flush=True)
    except warehouse.Busy as exc:
        sfn.send_task_failure(taskToken=token, error="Warehouse.Busy", cause=str(exc))
        print("busy", order.get("order_id"), flush=True)
    except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken) as exc:
        # The workflow gave up on this task already (timeout): nothing left to report.
        print("too late for", order.get("order_id"), type(exc).__name__, flush=True)
    except Exception as exc:  # an unexpected bug: tell the workflow instead of going silent
        sfn.send_task_failure(taskToken=token, error="Worker.Crashed", cause=repr(exc)[:256])
        print("crashed on", order.get("order_id"), repr(exc), flush=True)
    # Delete only once Step Functions has the answer: if we die before this line, the
    # message comes back after the visibility timeout and another worker answers.
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}tasks")["QueueUrl"]
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Several tasks at once: one slow order must not hold the others in the queue while
    # their heartbeat clocks run.
    with ThreadPoolExecutor(max_workers=4) as pool:
        while not stopping.is_set():
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=2)
            for message in reply.get("Messages", []):
                pool.submit(handle, queue_url, message)


if __name__ == "__main__":
    main()
