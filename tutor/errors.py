"""One error model for the whole tutor: what went wrong, a short title, and how to fix it.

The CLI prints a `TutorError` as one line to stderr and exits with `EXIT_ERROR`; the TUI
shows the same three parts in a toast or a dialog. Nothing else should reach the learner
as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1  # a check, a doctor probe or a test of the learner's work failed
EXIT_ERROR = 2  # the tutor could not do what was asked (bad input, unreachable LocalStack)
EXIT_USAGE = 64


@dataclass
class TutorError(Exception):
    """An error the learner can act on."""

    message: str
    title: str = "Error"
    fix: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def one_line(self) -> str:
        """The message and its fix on one line, as the CLI prints it."""
        return f"{self.message} — {self.fix}" if self.fix else self.message

    def __str__(self) -> str:
        return self.one_line()


class LocalStackUnreachable(TutorError):
    """No LocalStack answers at the endpoint we were told to use."""

    def __init__(self, url: str, detail: str = "") -> None:
        why = f" ({detail})" if detail else ""
        super().__init__(
            message=f"LocalStack is not reachable at {url}{why}",
            title="LocalStack unreachable",
            fix="start it with `tutor localstack up`, or run `tutor` without --endpoint "
            "to use an embedded one",
        )


class LocalStackSlow(TutorError):
    """LocalStack accepted a request but did not answer it within the read timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(
            message=f"LocalStack at {url} took longer to answer than the tutor waits",
            title="LocalStack slow",
            fix="it is running but busy (a burst, a long poll?); check again, and see "
            "`tutor doctor` if it persists",
        )


class UnsafeEndpoint(TutorError):
    """The safety guard refused an endpoint that is not on this machine."""

    def __init__(self, url: str) -> None:
        super().__init__(
            message=f"Refusing to send AWS requests to {url}: it is not a loopback address",
            title="Unsafe endpoint",
            fix="use a LocalStack on 127.0.0.1, or name the host with --allow-host HOST "
            "(or TUTOR_ALLOW_HOSTS) if it really is your own emulator",
        )


def from_boto(exc: BaseException, url: str | None = None) -> TutorError:
    """Translate a botocore exception into a TutorError; never leaks a traceback."""
    name = type(exc).__name__
    where = url or getattr(exc, "kwargs", {}).get("endpoint_url", "?")
    if name in {"EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError"}:
        return LocalStackUnreachable(where, detail=name)
    if name == "ReadTimeoutError":
        # It accepted the connection and is still working on the answer: busy, not gone.
        # Whoever must know whether it is gone asks its health endpoint.
        return LocalStackSlow(where)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        code = err.get("Code", name)
        msg = err.get("Message", str(exc))
        return TutorError(message=f"AWS said {code}: {msg}", title=code)
    return TutorError(message=f"{name}: {exc}", title=name)
