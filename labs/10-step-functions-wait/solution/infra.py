"""Create the queues and the IAM role the workflow needs (safe to run again)."""

from __future__ import annotations

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
ROLE = f"{PREFIX}sfn-role"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow",
                   "Principal": {"Service": "states.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def main() -> None:
    sqs = boto3.client("sqs")
    iam = boto3.client("iam")
    arns = []
    # A crashed worker's task must come back while the workflow still waits for it:
    # longer than one packing step (1 s), shorter than HeartbeatSeconds (6 s).
    for name, attributes in (("tasks", {"VisibilityTimeout": "2"}), ("rejections", {})):
        url = sqs.create_queue(QueueName=f"{PREFIX}{name}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arns.append(arn["Attributes"]["QueueArn"])
        print("queue", url)
    try:
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST),
                        Description="Step Functions executions of the fulfilment workflow")
    except iam.exceptions.EntityAlreadyExistsException:
        iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(TRUST))
    # Least privilege: the workflow only ever sends messages, and only to these two queues.
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                             "Resource": arns}]}
    iam.put_role_policy(RoleName=ROLE, PolicyName=f"{PREFIX}send-to-queues",
                        PolicyDocument=json.dumps(policy))
    print("role", iam.get_role(RoleName=ROLE)["Role"]["Arn"])


if __name__ == "__main__":
    main()
