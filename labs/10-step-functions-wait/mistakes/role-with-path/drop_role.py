"""This learner's role had the path /service-role/ from the start: drop the role the
steps before made, so infra.py creates it again, with the path."""

import boto3

iam = boto3.client("iam")
for name in iam.list_role_policies(RoleName="lab10-sfn-role")["PolicyNames"]:
    iam.delete_role_policy(RoleName="lab10-sfn-role", PolicyName=name)
iam.delete_role(RoleName="lab10-sfn-role")
