"""Move the messages of the DLQ back to the source queue, once the worker is fixed."""

import time

import boto3

sqs = boto3.client("sqs")

DLQ = "lab04-orders-dlq"

dlq_url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
    "Attributes"]["QueueArn"]
# Without DestinationArn, each message goes back to the queue it came from.
task = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=50)
print(f"started move task {task['TaskHandle'][:16]}...")
for _ in range(60):  # bounded: at most 30 s
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
    if tasks and tasks[0]["Status"] != "RUNNING":
        print(f"move task {tasks[0]['Status']}: "
              f"{tasks[0].get('ApproximateNumberOfMessagesMoved', 0)} messages moved")
        break
    time.sleep(0.5)
