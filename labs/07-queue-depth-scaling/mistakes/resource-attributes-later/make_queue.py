import boto3

queue = boto3.resource("sqs").create_queue(QueueName="lab07-jobs")
queue.set_attributes(Attributes={"VisibilityTimeout": "10"})
queue.set_attributes(Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
print(queue.url, queue.attributes["VisibilityTimeout"])
