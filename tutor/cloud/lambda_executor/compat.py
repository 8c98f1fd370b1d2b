"""Fixes for LocalStack 4.14.0 that learners would otherwise hit through our executor.

1. UpdateEventSourceMapping replaces the mapping's worker and stops the old one; when the
old worker's poll loop ends (it may be in the middle of a batch or a long poll) it writes
"Disabled" into the store over the new worker's "Enabled", although the new worker goes
on polling. A deploy script run twice then shows a disabled mapping that still delivers
(measured: 2 runs in 3 of lab 06's reference deploy). A stopped, superseded worker no
longer writes the mapping's state.

2. DeleteFunction of a function in state Failed (e.g. a nodejs runtime we refuse) raises
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
    _install_superseded_worker_fix()
    _installed = True


def _install_superseded_worker_fix() -> None:
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker

    original_stop = EsmWorker.stop
    original_update = EsmWorker.update_esm_state_in_store

    @functools.wraps(original_stop)
    def stop(self: Any) -> None:
        # Only UpdateEventSourceMapping stops a worker, right before its replacement
        # writes the mapping's new state; this worker's own "Disabling" goes first.
        original_stop(self)
        self._tutor_superseded = True

    @functools.wraps(original_update)
    def update_esm_state_in_store(self: Any, new_state: Any) -> None:
        if getattr(self, "_tutor_superseded", False):
            return
        original_update(self, new_state)

    EsmWorker.stop = stop  # type: ignore[method-assign]
    EsmWorker.update_esm_state_in_store = update_esm_state_in_store  # type: ignore[method-assign]
