"""Infrastructure for lab 07: the jobs queue and the backlog alarms. Run `python infra.py`.

Safe to run again after each edit: create_queue and put_metric_alarm update in place.
"""

import os

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab07-")
QUEUE = f"{PREFIX}jobs"

sqs = boto3.client("sqs")
cloudwatch = boto3.client("cloudwatch")

# Step 1 — the queue. A batch takes 10 x 0.05 s = 0.5 s; 5 s covers it ten times over,
# and a batch stranded by a stopped consumer is back after 5 s, within the 10 s target.
# Long polling (up to 20 s) keeps idle consumers from spinning on empty receives.
# create_queue fails on an existing queue whose attributes differ (an earlier run of the
# starter made it with the defaults): create it bare, then set the attributes.
url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={
    "VisibilityTimeout": "5", "ReceiveMessageWaitTimeSeconds": "5"})
print(f"queue {QUEUE}: {url}")

# Step 2 — the backlog alarms, on the metric SQS publishes per queue. One consumer clears
# 20 jobs/s, 200 jobs within the 10 s target: more than that waiting is a backlog.
# Production: Period=60 and EvaluationPeriods=2..3 (the metric has 1-minute granularity).
metric = {
    "Namespace": "AWS/SQS",
    "MetricName": "ApproximateNumberOfMessagesVisible",
    "Dimensions": [{"Name": "QueueName", "Value": QUEUE}],
    "Statistic": "Maximum",
    "Period": 10,
    "EvaluationPeriods": 1,
}
cloudwatch.put_metric_alarm(
    AlarmName=f"{PREFIX}backlog-high", Threshold=200,
    ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
    AlarmDescription="more jobs waiting than one consumer clears in 10 s", **metric)
# The low alarm drives scale-in when step scaling is chosen; harmless with target tracking.
cloudwatch.put_metric_alarm(
    AlarmName=f"{PREFIX}backlog-low", Threshold=10,
    ComparisonOperator="LessThanOrEqualToThreshold", TreatMissingData="notBreaching",
    AlarmDescription="the backlog is (almost) gone", **metric)
print(f"alarms {PREFIX}backlog-high and {PREFIX}backlog-low")
