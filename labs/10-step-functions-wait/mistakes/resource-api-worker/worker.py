"""The warehouse worker, with boto3's resource API for SQS: one thread per task, at most
four at a time; heartbeats and visibility extensions after every packing step."""

from __future__ import annotations

import json
import os
import signal
import threading

import boto3
import warehouse

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
queue = boto3.resource("sqs").get_queue_by_name(QueueName=f"{PREFIX}tasks")
sfn = boto3.client("stepfunctions")
stopping = threading.Event()
slots = threading.Semaphore(4)
VISIBILITY = int(queue.attributes["VisibilityTimeout"])


def handle(message) -> None:
    try:
        task = json.loads(message.body)
        token, order = task["taskToken"], task["order"]

        def beat() -> None:
            sfn.send_task_heartbeat(taskToken=token)
            message.change_visibility(VisibilityTimeout=VISIBILITY)

        try:
            shipment = warehouse.pack(order, on_step=beat)
            sfn.send_task_success(taskToken=token, output=json.dumps(shipment))
        except warehouse.InvalidOrder as exc:
            sfn.send_task_failure(taskToken=token, error="Order.Invalid", cause=str(exc))
        except warehouse.Busy as exc:
            sfn.send_task_failure(taskToken=token, error="Warehouse.Busy", cause=str(exc))
        except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken):
            pass  # the workflow stopped waiting for this one
        message.delete()  # only now: Step Functions has the answer
    finally:
        slots.release()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        slots.acquire()
        messages = queue.receive_messages(MaxNumberOfMessages=1, WaitTimeSeconds=1)
        if not messages:
            slots.release()
            continue
        threading.Thread(target=handle, args=(messages[0],), daemon=True).start()


if __name__ == "__main__":
    main()
