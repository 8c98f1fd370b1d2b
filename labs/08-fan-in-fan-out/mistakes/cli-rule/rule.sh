# Step 5 with the AWS CLI: the rule on the custom bus, its queue target, the queue policy.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
aws events create-event-bus --name lab08-bus > /dev/null 2>&1 || true
# what the reference steps before left on the bus: this learner starts from no rule
aws events remove-targets --rule lab08-shipped --event-bus-name lab08-bus \
  --ids shipped-events-queue > /dev/null 2>&1 || true
rule=$(aws events put-rule --name lab08-shipped --event-bus-name lab08-bus \
         --event-pattern '{"detail-type": ["OrderShipped"], "source": ["lab08.warehouse"]}' \
         --query RuleArn)
account=$(echo "$rule" | cut -d: -f5)
queue="arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab08-shipped-events"
url=$(aws sqs create-queue --queue-name lab08-shipped-events --query QueueUrl)
policy="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"events.amazonaws.com\"},\"Action\":\"sqs:SendMessage\",\"Resource\":\"$queue\",\"Condition\":{\"ArnEquals\":{\"aws:SourceArn\":\"$rule\"}}}]}"
python -c 'import json, sys; print(json.dumps({"Policy": sys.argv[1]}))' "$policy" > attrs.json
aws sqs set-queue-attributes --queue-url "$url" --attributes file://attrs.json &
aws events put-targets --rule lab08-shipped --event-bus-name lab08-bus \
  --targets "Id=queue,Arn=$queue" > /dev/null &
wait
