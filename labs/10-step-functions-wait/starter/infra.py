"""Create the queues and the IAM role the workflow needs (safe to run again)."""

from __future__ import annotations

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
ROLE = f"{PREFIX}sfn-role"

# TODO: the trust policy: which AWS service may assume this role?
TRUST: dict = {
    "Version": "2012-10-17",
    "Statement": [],
}


def main() -> None:
    sqs = boto3.client("sqs")
    iam = boto3.client("iam")
    arns: list[str] = []
    # TODO: create the queues `lab10-tasks` (work for the warehouse, VisibilityTimeout 2 s)
    #       and `lab10-rejections` (notices for rejected orders); collect their ARNs in
    #       `arns`.

    # TODO: create the role ROLE with the TRUST policy (running this script twice must work),
    #       then give it an inline policy that allows `sqs:SendMessage` on exactly the ARNs
    #       in `arns` (put_role_policy).
    print("queues:", arns, "- role: TODO")


if __name__ == "__main__":
    main()
