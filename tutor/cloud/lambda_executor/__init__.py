"""Lambda without Docker: a LocalStack runtime executor that runs Python handlers locally.

Modules: `plugin` (the plux entry point `tutor`), `executor` (LocalStack's RuntimeExecutor),
`process` (one runtime process), `environ` (its clean environment), `runtime` (the init
running inside each environment), `context`, and `probe` (can functions run here?).
Kept import-free: the runtime process imports this package on every cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint


def probe(endpoint: Endpoint, timeout: float = 20.0) -> tuple[bool, str]:
    """Create, invoke and delete a trivial function: (works, one-line explanation)."""
    from tutor.cloud.lambda_executor.probe import run

    return run(endpoint, timeout)
