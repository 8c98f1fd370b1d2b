"""Deploy workflow.asl.json as the state machine lab10-fulfilment (create or update)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
NAME = f"{PREFIX}fulfilment"
HERE = Path(__file__).resolve().parent


def definition(sqs) -> str:
    """The ASL with its ${...} placeholders replaced by this account's queue URLs."""
    text = (HERE / "workflow.asl.json").read_text()
    for placeholder, queue in (("${TasksQueueUrl}", "tasks"),
                               ("${RejectionsQueueUrl}", "rejections")):
        url = sqs.get_queue_url(QueueName=f"{PREFIX}{queue}")["QueueUrl"]
        text = text.replace(placeholder, url)
    json.loads(text)  # fail here, with the line number, rather than inside Step Functions
    return text


def main() -> None:
    sqs = boto3.client("sqs")
    sfn = boto3.client("stepfunctions")
    iam = boto3.client("iam")
    role_arn = iam.get_role(RoleName=f"{PREFIX}sfn-role")["Role"]["Arn"]
    text = definition(sqs)
    existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                if m["name"] == NAME]
    if existing:
        sfn.update_state_machine(stateMachineArn=existing[0], definition=text,
                                 roleArn=role_arn)
        print("updated", existing[0])
    else:
        arn = sfn.create_state_machine(name=NAME, definition=text, roleArn=role_arn,
                                       type="STANDARD")["stateMachineArn"]
        print("created", arn)


if __name__ == "__main__":
    main()
