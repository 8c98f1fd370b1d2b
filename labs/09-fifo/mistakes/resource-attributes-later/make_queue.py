import boto3

sqs = boto3.resource("sqs")
queue = sqs.create_queue(QueueName="lab09-orders.fifo", Attributes={"FifoQueue": "true"})
queue.set_attributes(Attributes={"ContentBasedDeduplication": "true"})
queue.set_attributes(Attributes={"VisibilityTimeout": "3"})
print(queue.url)
