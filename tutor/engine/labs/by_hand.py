"""The commands that show a check's evidence by hand, recorded from the check itself.

Every AWS read a check makes through `ctx.client()` (a Get, List, Describe or Head call)
is written down while the check runs and rendered as the `awslocal` command that makes the
same call: `awslocal sqs get-queue-attributes --queue-url URL --attribute-names
RedrivePolicy`. No check declares its commands, so none can show a command it did not run,
and a learner can see in a terminal (after `eval "$(tutor env)"`) what the check saw.
"""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Callable
from typing import Any

MOST = 3  # commands shown per check: the first distinct reads it made
READS = ("Get", "List", "Describe", "Head")
# boto3 service names whose AWS CLI command differs.
CLI_SERVICE = {"s3": "s3api"}

_current = threading.local()


def recorded[T](fn: Callable[[], T], into: list[str]) -> T:
    """Run `fn` (a check, in the thread that runs it) with its AWS reads noted in `into`."""
    _current.calls = into
    try:
        return fn()
    finally:
        _current.calls = None


def watch(client: Any) -> Any:
    """Have `client` note its reads in the running check's list (once per client)."""
    if not getattr(client, "_tutor_by_hand", False):
        client.meta.events.register("before-parameter-build.*.*", _noted)
        client._tutor_by_hand = True
    return client


def _noted(params: dict[str, Any], model: Any, **_: Any) -> None:
    calls: list[str] | None = getattr(_current, "calls", None)
    if calls is None or len(calls) >= MOST or not model.name.startswith(READS):
        return
    command = command_for(model.service_model.service_name, model.name, params)
    if command not in calls:
        calls.append(command)


def command_for(service: str, operation: str, params: dict[str, Any]) -> str:
    """`awslocal sqs get-queue-attributes --queue-url … --attribute-names RedrivePolicy`."""
    from botocore import xform_name

    words = ["awslocal", CLI_SERVICE.get(service, service), xform_name(operation, "-")]
    for name, value in params.items():
        flag = "--" + xform_name(name, "-")
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            words += [flag, *(shlex.quote(str(v)) for v in value)]
        elif isinstance(value, dict | list):
            words += [flag, shlex.quote(json.dumps(value, separators=(",", ":")))]
        else:
            words += [flag, shlex.quote(str(value))]
    return " ".join(words)
