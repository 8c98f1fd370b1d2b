"""Echoes what a handler can see: context, environment, its process; sleeps or fails on request."""

import json
import os
import sys
import time

COUNT = 0
print("init of basic")


def handler(event, context):
    global COUNT
    COUNT += 1
    print("event", json.dumps(event))
    print("to stderr", file=sys.stderr)
    if event.get("pid_file"):
        with open(event["pid_file"], "w") as f:
            f.write(str(os.getpid()))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if "exit" in event:
        sys.exit(event["exit"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    return {
        "count": COUNT,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
