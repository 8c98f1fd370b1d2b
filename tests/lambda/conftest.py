"""Fixtures for the Lambda executor tests: a client, and functions deleted after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tutor.cloud import clients

from .helpers import ROLE, unique, wait_state


@pytest.fixture
def lam(localstack: Any) -> Any:
    return clients.client("lambda", localstack, read_timeout=60)


@pytest.fixture
def make_function(lam: Any) -> Iterator[Callable[..., str]]:
    """Create a function (unique name), wait until it leaves Pending; delete it afterwards."""
    created: list[str] = []

    def make(code: bytes | dict[str, str], handler: str = "basic.handler", *,
             runtime: str = "python3.12", timeout: int = 5, env: dict[str, str] | None = None,
             prefix: str = "t", **extra: Any) -> str:
        name = unique(prefix)
        lam.create_function(
            FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
            Code=code if isinstance(code, dict) else {"ZipFile": code}, Timeout=timeout,
            Environment={"Variables": env or {}}, **extra)
        created.append(name)
        wait_state(lam, name)
        return name

    yield make
    for name in created:
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass
