"""Getting an endpoint for a CLI command, starting a shared LocalStack when none runs."""

from __future__ import annotations

import argparse
import sys

from tutor.cloud import endpoint as ep
from tutor.engine.learner import bind


def connect(args: argparse.Namespace, *, start: bool = True, quiet: bool = False
            ) -> ep.Endpoint:
    """Resolve the endpoint; with none found, start the background service (and say so).

    CLI commands use the shared background LocalStack rather than a private child, so
    that what one command creates is still there for the next (`tutor lab check` after
    the learner's own `python producer.py`).
    """
    found = ep.resolve(getattr(args, "endpoint", None))
    if found is None:
        if not start:
            from tutor.errors import LocalStackUnreachable

            raise LocalStackUnreachable(ep.DEFAULT_URL)
        from tutor.cloud.embedded import service_up

        def progress(line: str) -> None:
            if not quiet:
                print(line, file=sys.stderr)

        found = service_up(progress=progress)
        if not quiet:
            print(f"Started a background LocalStack at {found.url} "
                  "(stop it with `tutor localstack down`)", file=sys.stderr)
    found = bind(found)  # the learner's account, resolved here at the edge
    return found
