"""Step 1 with boto3's resource API, and a trust policy guarded against the confused
deputy: Step Functions may assume the role only for state machines of this account."""

import json
import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab10-")
ROLE = f"{PREFIX}sfn-role"

sqs = boto3.resource("sqs")
iam = boto3.resource("iam")
account = boto3.client("sts").get_caller_identity()["Account"]
region = boto3.session.Session().region_name

tasks = sqs.create_queue(QueueName=f"{PREFIX}tasks")
tasks.set_attributes(Attributes={"VisibilityTimeout": "2"})  # set after creation
rejections = sqs.create_queue(QueueName=f"{PREFIX}rejections")

trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": account},
                  "ArnLike": {"aws:SourceArn":
                              f"arn:aws:states:{region}:{account}:stateMachine:*"}}}]}
role = iam.Role(ROLE)
try:
    role.load()
    role.AssumeRolePolicy().update(PolicyDocument=json.dumps(trust))
except iam.meta.client.exceptions.NoSuchEntityException:
    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
role.Policy(f"{PREFIX}send").put(PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"],
                   "Resource": [tasks.attributes["QueueArn"],
                                rejections.attributes["QueueArn"]]}]}))
print("role", role.arn)
