"""Reading LocalStack's `/_localstack/health` without boto3 (fast, no credentials)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# The services the labs use; the embedded LocalStack starts exactly these.
LAB_SERVICES = ("sqs", "sns", "s3", "events", "cloudwatch", "logs", "iam", "sts", "lambda",
                "stepfunctions")
# Started too when its engine is installed (kinesis-mock needs Node.js and `make install`).
OPTIONAL_SERVICES = ("kinesis",)
_READY = {"available", "running"}


@dataclass
class Health:
    reachable: bool
    version: str = ""
    services: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def missing(self, wanted: tuple[str, ...] = LAB_SERVICES) -> list[str]:
        """Services the labs need that this LocalStack does not offer."""
        return [s for s in wanted if self.services.get(s) not in _READY]

    @property
    def ready(self) -> bool:
        return self.reachable and not self.missing()


def probe(url: str, timeout: float = 1.0) -> Health:
    """One GET of the health endpoint; never raises."""
    import urllib.error  # with the HTTP stack: not before the app's first frame
    import urllib.request

    from tutor.cloud import guard

    try:
        guard.check(url)
    except Exception as exc:  # the guard's refusal is a reason, not a crash
        return Health(False, error=str(exc))
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with opener.open(url.rstrip("/") + "/_localstack/health", timeout=timeout) as resp:
            body = json.loads(resp.read().decode() or "{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Health(False, error=str(getattr(exc, "reason", exc)))
    services = body.get("services", {}) if isinstance(body, dict) else {}
    return Health(True, version=str(body.get("version", "")), services=dict(services))
