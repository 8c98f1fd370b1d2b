import boto3

metric = boto3.resource("cloudwatch").Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible")
metric.put_alarm(AlarmName="lab07-backlog-high",
                 Dimensions=[{"Name": "QueueName", "Value": "lab07-jobs"}],
                 Statistic="Maximum", Period=10, EvaluationPeriods=1, DatapointsToAlarm=1,
                 Unit="Count", Threshold=200, ComparisonOperator="GreaterThanOrEqualToThreshold")
print("alarm lab07-backlog-high")
