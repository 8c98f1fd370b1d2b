# Batching and the concurrency cap changed on the existing mapping, with the AWS CLI.
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
UUID=$(aws lambda list-event-source-mappings --function-name lab06-ingest --query 'EventSourceMappings[0].UUID' --output text)
aws lambda update-event-source-mapping --uuid "$UUID" --batch-size 1000 \
  --maximum-batching-window-in-seconds 1 --scaling-config MaximumConcurrency=3 > /dev/null
for _ in $(seq 1 40); do
  STATE=$(aws lambda get-event-source-mapping --uuid "$UUID" --query State --output text)
  [ "$STATE" = Enabled ] && exit 0
  sleep 0.5
done
echo "mapping $UUID is $STATE" >&2; exit 1
