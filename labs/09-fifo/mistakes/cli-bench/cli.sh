# Both bench queues with the AWS CLI (run: bash cli.sh).
set -e
# start from no bench queues (the lab's step-1 solution already makes them)
python - <<'PY'
import boto3
sqs = boto3.client("sqs")
for name in ("lab09-bench", "lab09-bench.fifo"):
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
PY
# what a learner types
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
aws sqs create-queue --queue-name lab09-bench
aws sqs create-queue --queue-name lab09-bench.fifo --attributes FifoQueue=true,DeduplicationScope=messageGroup,FifoThroughputLimit=perMessageGroupId
