# The DLQ and the redrive policy with the AWS CLI (run: bash cli.sh).
set -e
# start from no DLQ and no redrive policy (the lab's step-1 solution already makes them)
python - <<'PY'
import boto3
sqs = boto3.client("sqs")
orders = sqs.get_queue_url(QueueName="lab09-orders.fifo")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=orders, Attributes={"RedrivePolicy": ""})
sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="lab09-orders-dlq.fifo")["QueueUrl"])
PY
# what a learner types
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
dlq=$(aws sqs create-queue --queue-name lab09-orders-dlq.fifo --attributes FifoQueue=true --query QueueUrl --output text)
arn=$(aws sqs get-queue-attributes --queue-url "$dlq" --attribute-names QueueArn --query Attributes.QueueArn --output text)
url=$(aws sqs get-queue-url --queue-name lab09-orders.fifo --query QueueUrl --output text)
aws sqs set-queue-attributes --queue-url "$url" --attributes "{\"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$arn\\\",\\\"maxReceiveCount\\\":\\\"3\\\"}\"}"
