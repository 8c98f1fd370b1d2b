"""Create the queue that buffers login events. Run it after each change (safe to rerun)."""

import boto3

sqs = boto3.client("sqs")

url = sqs.create_queue(QueueName="lab02-logins")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={
    # TODO (step 1): the writer keeps a batch for a while before it deletes it (collect,
    # wait for its turn, write). How long may a message stay invisible? (10 to 30 s here,
    # standing for 5 to 15 minutes in production.)
    "VisibilityTimeout": "1",
    # TODO (step 1): a burst leaves thousands of messages waiting; receives on a drained
    # queue should wait for new ones instead of hammering it. Which attribute does that?
})
print(f"lab02-logins: {url}")
