# Step 2 with the AWS CLI: topic, two queues with a topic-only policy (action spelled
# "SQS:SendMessage", condition ArnLike), subscriptions, and raw delivery turned on with a
# second call after subscribing; both queues in parallel.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
topic=$(aws sns create-topic --name lab11-orders --query TopicArn)
account=$(echo "$topic" | cut -d: -f5)
queue() {
  arn="arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab11-$1"
  url=$(aws sqs create-queue --queue-name "lab11-$1" --query QueueUrl)
  printf '{"Policy": "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[{\\"Effect\\":\\"Allow\\",\\"Principal\\":{\\"Service\\":\\"sns.amazonaws.com\\"},\\"Action\\":\\"SQS:SendMessage\\",\\"Resource\\":\\"%s\\",\\"Condition\\":{\\"ArnLike\\":{\\"aws:SourceArn\\":\\"%s\\"}}}]}"}' \
    "$arn" "$topic" > "policy-$1.json"
  aws sqs set-queue-attributes --queue-url "$url" --attributes "file://policy-$1.json"
  sub=$(aws sns subscribe --topic-arn "$topic" --protocol sqs --notification-endpoint "$arn" \
          --return-subscription-arn --query SubscriptionArn)
  aws sns set-subscription-attributes --subscription-arn "$sub" \
    --attribute-name RawMessageDelivery --attribute-value true
}
queue billing & a=$!
queue shipping & b=$!
wait "$a"; wait "$b"
