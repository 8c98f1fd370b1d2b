"""An earlier redrive, before this check: its finished move task is still listed."""

import time

import boto3

sqs = boto3.client("sqs")
dlq = sqs.get_queue_url(QueueName="lab04-orders-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"]
sqs.start_message_move_task(SourceArn=arn)
for _ in range(20):
    tasks = sqs.list_message_move_tasks(SourceArn=arn, MaxResults=1)["Results"]
    if tasks and tasks[0]["Status"] != "RUNNING":
        break
    time.sleep(0.25)
print(tasks)
time.sleep(1.5)  # the check starts afterwards: this task is from before it
