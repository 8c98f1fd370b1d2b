"""Measurement for the lab (given, do not edit): one log line per invocation.

`@measured` wraps your handler and prints
`{"lab06": "batch", "size": ..., "start": ..., "end": ..., "failed": ..., "error": ...}`
to the function's log, from which the tutor (and `report.py`) draw the batch-size
histogram and the number of invocations running at the same time.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any


def measured(handler: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
    @functools.wraps(handler)
    def wrapper(event: dict, context: Any) -> Any:
        start = time.time()
        line: dict[str, Any] = {"lab06": "batch", "size": len(event.get("Records", [])),
                                "start": start, "failed": 0, "error": None,
                                "request": getattr(context, "aws_request_id", "")}
        try:
            result = handler(event, context)
            failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
            line["failed"] = len(failures)
            return result
        except Exception as exc:
            line["error"] = f"{type(exc).__name__}: {exc}"[:200]
            raise
        finally:
            line["end"] = time.time()
            print(json.dumps(line), flush=True)

    return wrapper
