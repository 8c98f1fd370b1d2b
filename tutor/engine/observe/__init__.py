"""What happened to SQS messages, as observed inside the tutor's LocalStack."""
