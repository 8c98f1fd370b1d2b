"""Create lab 01's queue (idempotent: run it again after every change)."""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab01-")

sqs = boto3.client("sqs")

# TODO: create the queue `lab01-orders` between the web tier and the application tier.
#       The worker waits up to 1 s for downstream (DOWNSTREAM_TIMEOUT in worker.py): what
#       VisibilityTimeout keeps a message hidden while the worker is still working on it,
#       but brings it back soon when the worker failed? (Lab clock: 2 s here.)
#       Long polling (ReceiveMessageWaitTimeSeconds) saves empty receives.
print("nothing created yet")
