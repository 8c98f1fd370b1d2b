"""Helpers for the Lambda executor tests: zips from `handlers/`, waits, invokes."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HANDLERS = Path(__file__).parent / "handlers"
ROLE = "arn:aws:iam::000000000000:role/lambda-test"


def handler_zip(*names: str) -> bytes:
    """A zip of files or whole folders under handlers/, keeping their relative paths."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            path = HANDLERS / name
            files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            for file in files:
                archive.write(file, file.relative_to(HANDLERS).as_posix())
    return buffer.getvalue()


def source_zip(filename: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_state(lam: Any, name: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        conf = lam.get_function_configuration(FunctionName=name)
        if conf.get("State") != "Pending" or time.monotonic() > deadline:
            return dict(conf)
        time.sleep(0.1)


def invoke(lam: Any, name: str, event: dict[str, Any] | None = None,
           **kwargs: Any) -> tuple[dict[str, Any], Any]:
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
    return reply, json.loads(reply["Payload"].read() or b"null")


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie awaiting its reaper counts as gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
