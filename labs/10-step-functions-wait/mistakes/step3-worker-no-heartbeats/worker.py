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
THREADS = 4  # orders packed at the same time
sqs = boto3.client("sqs")
sfn = boto3.client("stepfunctions")
stopping = threading.Event()
free = threading.BoundedSemaphore(THREADS)
visibility = [30]  # the queue's VisibilityTimeout, read at start


def handle(queue_url: str, message: dict) -> None:
    task = json.loads(message["Body"])
    token, order = task["taskToken"], task["order"]

    try:
        shipment = warehouse.pack(order)
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


def work(queue_url: str, message: dict) -> None:
    try:
        handle(queue_url, message)
    finally:
        free.release()


def main() -> None:
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}tasks")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url,
                                          AttributeNames=["VisibilityTimeout"])["Attributes"]
    visibility[0] = int(attributes["VisibilityTimeout"])
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    # Several tasks at once: one slow order must not hold the others in the queue while
    # their heartbeat clocks run. But never take more messages than there are free
    # threads: a message waiting in this process is invisible to the other workers while
    # its visibility timeout runs out.
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        while not stopping.is_set():
            if not free.acquire(timeout=1):
                continue
            slots = 1
            while slots < THREADS and free.acquire(blocking=False):
                slots += 1
            reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=slots,
                                        WaitTimeSeconds=2)
            messages = reply.get("Messages", [])
            for _ in range(slots - len(messages)):
                free.release()
            for message in messages:
                pool.submit(work, queue_url, message)


if __name__ == "__main__":
    main()
