# The AWS CLI version of step 2, run over the earlier attempt's subscriptions: subscribe
# each queue (SNS hands back the existing subscription), then turn raw delivery on with
# a second call; the three queues in parallel.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
topic=$(aws sns create-topic --name lab08-orders --query TopicArn)
account=$(echo "$topic" | cut -d: -f5)
subscribe() {  # the queues exist: the steps before created them
  sub=$(aws sns subscribe --topic-arn "$topic" --protocol sqs \
          --notification-endpoint "arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab08-$1" \
          --return-subscription-arn --query SubscriptionArn)
  aws sns set-subscription-attributes --subscription-arn "$sub" \
    --attribute-name RawMessageDelivery --attribute-value true
}
pids=()
for q in billing shipping audit; do subscribe "$q" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
