# Visibility timeout and dead-letter queue set after deploy.py, with the AWS CLI.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
URL=$(aws sqs get-queue-url --queue-name lab06-events --query QueueUrl --output text)
DLQ_URL=$(aws sqs create-queue --queue-name lab06-events-dlq --query QueueUrl --output text)
DLQ_ARN=$(aws sqs get-queue-attributes --queue-url "$DLQ_URL" --attribute-names QueueArn --query Attributes.QueueArn --output text)
aws sqs set-queue-attributes --queue-url "$URL" --attributes "{\"VisibilityTimeout\": \"30\", \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$DLQ_ARN\\\",\\\"maxReceiveCount\\\":\\\"2\\\"}\"}"
