"""Step 2: the SNS topic of lab 11 and its two subscriber queues (keep it idempotent)."""

import json  # (you will need it for the queue policies)
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")

sqs = boto3.client("sqs")
sns = boto3.client("sns")

# TODO (step 2):
#   - the topic `lab11-orders`;
#   - the queues `lab11-billing` and `lab11-shipping`, each with a queue policy that lets
#     SNS send to it on behalf of this topic, and nothing else;
#   - one subscription per queue, with raw message delivery.
print("nothing created yet: see the TODO in sns_infra.py")
