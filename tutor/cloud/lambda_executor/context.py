"""The `context` object a handler receives, with the attributes of AWS's Python runtime."""

from __future__ import annotations

import os
import sys
import time
from typing import Any


class CognitoIdentity:
    """Always empty here: no Cognito in the labs, as for any non-mobile invoke on AWS."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class LambdaContext:
    """Mirrors `awslambdaric`'s LambdaContext, including `memory_limit_in_mb` being a string."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int,
                 client_context: Any = None) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = client_context
        self.identity = CognitoIdentity()
        self.tenant_id: str | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},"
                f"function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn}])")
