# The AWS CLI v1 needs --endpoint-url for SQS (it ignores AWS_ENDPOINT_URL there).
exec python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" sqs "$@"
