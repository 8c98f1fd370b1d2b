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


def handle(queue_url: str, message: dict) -> None:
    task = json.loads(message["Body"])
    order = task.get("order", task)
    # TODO: read the task token your workflow put in the message.
    try:
        # TODO: while packing, tell Step Functions that you are still alive (on_step=...),
        #       and keep the message from coming back to another worker meanwhile.
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


def work(queue_url: str, message: dict) -> None:
    try:
        handle(queue_url, message)
    finally:
        free.release()


def main() -> None:
    queue_url = sqs.get_queue_url(QueueName=f"{PREFIX}tasks")["QueueUrl"]
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
