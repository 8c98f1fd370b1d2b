# Step 4 with the AWS CLI, in IAM's other valid spellings: "SQS:SendMessage", the
# condition key "AWS:SourceArn", ArnLike, Resource as a list (queues in parallel).
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
topic=$(aws sns create-topic --name lab08-orders --query TopicArn)
account=$(echo "$topic" | cut -d: -f5)
allow() {
  url=$(aws sqs get-queue-url --queue-name "lab08-$1" --query QueueUrl)
  arn="arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab08-$1"
  policy="{\"Version\":\"2012-10-17\",\"Id\":\"$1-policy\",\"Statement\":[{\"Sid\":\"TopicOnly\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":[\"sns.amazonaws.com\"]},\"Action\":[\"SQS:SendMessage\"],\"Resource\":[\"$arn\"],\"Condition\":{\"ArnLike\":{\"AWS:SourceArn\":\"$topic\"}}}]}"
  python - "$policy" > "attrs-$1.json" <<'PY'
import json, sys
print(json.dumps({"Policy": sys.argv[1]}))
PY
  aws sqs set-queue-attributes --queue-url "$url" --attributes "file://attrs-$1.json"
}
pids=()
for q in billing shipping audit; do allow "$q" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
