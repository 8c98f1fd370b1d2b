"""A fix for LocalStack 4.14.0 that learners would otherwise hit through our executor.

DeleteFunction of a function in state Failed (e.g. a nodejs runtime we refuse) raises
InternalError "Unable to find version manager": a failed version never gets a version
manager, and `LambdaService.stop_version` insists on one, so the function could never be
deleted. Installed once when LocalStack loads our executor plugin, so a LocalStack using
its Docker executor is untouched.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

LOG = logging.getLogger(__name__)
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from localstack.services.lambda_.invocation.lambda_service import LambdaService

    original = LambdaService.stop_version

    @functools.wraps(original)
    def stop_version(self: Any, qualified_arn: str) -> None:
        try:
            original(self, qualified_arn)
        except ValueError as exc:
            if "Unable to find version manager" not in str(exc):
                raise
            LOG.debug("No version manager for %s (failed version); nothing to stop",
                      qualified_arn)

    LambdaService.stop_version = stop_version  # type: ignore[method-assign]
    _installed = True
