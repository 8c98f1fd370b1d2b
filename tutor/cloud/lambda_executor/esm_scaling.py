"""SQS event source mappings that scale like Lambda's: several pollers, capped.

LocalStack 4.14 runs one poller thread per mapping, which invokes one batch at a time:
concurrency is always 1 and `ScalingConfig.MaximumConcurrency` is accepted but never
read. On AWS, Lambda starts with five concurrent batches for a standard queue and scales
up, never beyond MaximumConcurrency when it is set. We add poller threads to each SQS
standard-queue mapping: MaximumConcurrency of them when set, else five (AWS's starting
point), both capped at MAX_POLLERS to keep a two-core laptop responsive. Like Lambda,
the extra pollers scale with the backlog: they join in only while batches come back full
(the queue holds more than one poller can take) and idle otherwise, so a trickle is still
collected into full batches by the batching window. FIFO queues keep LocalStack's single
poller, which already processes message groups in order.
Installed when LocalStack loads our executor plugin; a Docker LocalStack is untouched.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any

LOG = logging.getLogger(__name__)
DEFAULT_POLLERS = 5
MAX_POLLERS = int(os.environ.get("TUTOR_ESM_MAX_POLLERS", "10"))
SATURATED_FOR = 2.0  # seconds a full batch keeps the extra pollers busy
_installed = False


def pollers_for(esm_config: dict[str, Any], is_fifo: bool) -> int:
    """How many concurrent batches a mapping may run (LocalStack's own poller included)."""
    if is_fifo:
        return 1
    wanted = (esm_config.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return max(1, min(int(wanted or DEFAULT_POLLERS), MAX_POLLERS))


def _poll_only(worker: Any) -> None:
    """Poll and invoke until the mapping stops; state changes stay with LocalStack's loop."""
    from localstack.config import (
        LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC,
        LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC,
    )
    from localstack.services.lambda_.event_source_mapping.pollers.poller import (
        EmptyPollResultsException,
    )
    from localstack.utils.backoff import ExponentialBackoff

    # A pydantic dataclass with defaults for the other fields; mypy cannot see them.
    empty = ExponentialBackoff(  # type: ignore[call-arg]
        initial_interval=1, max_interval=LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC)
    shutdown = worker._shutdown_event
    while not shutdown.is_set():
        wait = LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC
        if time.monotonic() - getattr(worker, "_tutor_full_at", -1e9) > SATURATED_FOR:
            shutdown.wait(0.2)  # no backlog: leave the batching to the main poller
            continue
        try:
            worker.poller.poll_events()
            empty.reset()
        except EmptyPollResultsException:
            wait = empty.next_backoff()
        except Exception as exc:  # the main loop reports errors; here we only back off
            LOG.debug("extra SQS poller of %s failed: %s", worker.uuid, exc)
            wait = 2.0
        shutdown.wait(wait)


def install() -> None:
    global _installed
    if _installed:
        return
    from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
    from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
    from localstack.utils.threads import FuncThread

    original = EsmWorker.start

    @functools.wraps(original)
    def start(self: Any) -> None:
        original(self)
        if not isinstance(self.poller, SqsPoller):
            return
        try:
            count = pollers_for(self.esm_config, bool(self.poller.is_fifo_queue))
        except Exception as exc:  # e.g. the queue vanished: LocalStack's loop reports it
            LOG.debug("cannot size pollers of %s: %s", self.uuid, exc)
            return
        if count < 2:
            return
        batch_size = int(self.esm_config.get("BatchSize") or 10)
        handle = self.poller.handle_messages

        def handle_messages(messages: Any) -> Any:
            if len(messages) >= batch_size:
                self._tutor_full_at = time.monotonic()
            return handle(messages)

        self.poller.handle_messages = handle_messages  # type: ignore[method-assign]
        for index in range(1, count):
            FuncThread(lambda *_: _poll_only(self),
                       name=f"event-source-mapping-poller-{self.uuid}-{index}").start()

    EsmWorker.start = start  # type: ignore[method-assign]
    _installed = True
