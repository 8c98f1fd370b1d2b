# The event source mapping, made with the AWS CLI instead of deploy.py.
set -euo pipefail
ACCOUNT=$(python -m awscli sts get-caller-identity --query Account --output text)
python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" lambda create-event-source-mapping \
  --function-name lab05-compress --batch-size 1 \
  --event-source-arn "arn:aws:sqs:$AWS_DEFAULT_REGION:$ACCOUNT:lab05-upload-events" \
  --function-response-types ReportBatchItemFailures > /dev/null
