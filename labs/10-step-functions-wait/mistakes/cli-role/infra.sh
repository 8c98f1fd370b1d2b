# Step 1 with the AWS CLI: the queues, the role, its inline policy ("SQS:SendMessage",
# one statement per queue).
set -euo pipefail
aws() { python -m awscli --endpoint-url "$AWS_ENDPOINT_URL" --output text "$@"; }
aws sqs create-queue --queue-name lab10-tasks --attributes VisibilityTimeout=2 > /dev/null &
aws sqs create-queue --queue-name lab10-rejections > /dev/null &
account=$(aws sts get-caller-identity --query Account)
wait
cat > trust.json <<'JSON'
{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow", "Principal": {"Service": ["states.amazonaws.com"]},
                "Action": ["sts:AssumeRole"]}]}
JSON
cat > send.json <<JSON
{"Version": "2012-10-17",
 "Statement": [
   {"Sid": "Tasks", "Effect": "Allow", "Action": "SQS:SendMessage",
    "Resource": "arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab10-tasks"},
   {"Sid": "Rejections", "Effect": "Allow", "Action": ["SQS:SendMessage"],
    "Resource": ["arn:aws:sqs:$AWS_DEFAULT_REGION:$account:lab10-rejections"]}]}
JSON
aws iam create-role --role-name lab10-sfn-role \
  --assume-role-policy-document file://trust.json > /dev/null 2>&1 || \
  aws iam update-assume-role-policy --role-name lab10-sfn-role --policy-document file://trust.json
aws iam put-role-policy --role-name lab10-sfn-role --policy-name lab10-send \
  --policy-document file://send.json
