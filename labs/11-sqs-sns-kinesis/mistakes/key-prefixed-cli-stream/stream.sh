# Step 3 with the AWS CLI: a provisioned stream with 4 shards, then wait until it is ACTIVE.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
aws kinesis create-stream --stream-name lab11-orders --shard-count 4 \
  --stream-mode-details StreamMode=PROVISIONED
aws kinesis wait stream-exists --stream-name lab11-orders
