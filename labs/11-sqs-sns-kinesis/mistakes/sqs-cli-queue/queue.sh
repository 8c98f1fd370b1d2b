# Step 1 with the AWS CLI: create the queue with its defaults, then set the lab clock's
# visibility timeout with a second call.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
url=$(aws sqs create-queue --queue-name lab11-orders --query QueueUrl)
aws sqs set-queue-attributes --queue-url "$url" --attributes VisibilityTimeout=5
