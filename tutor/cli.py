"""The `tutor` command. Thin: parses arguments, then hands over to the engine or the TUI.

Imports stay lazy (Textual, boto3 and LocalStack load only in the commands that use
them) so that `tutor --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from tutor import __version__
from tutor.errors import EXIT_ERROR, EXIT_USAGE, TutorError

# Each module has `register(subparsers)`, which adds its commands with a `handler`.
COMMAND_MODULES = (
    "tutor.commands.localstack",
    "tutor.commands.doctor",
    "tutor.commands.labs",
    "tutor.commands.quiz",
    "tutor.commands.dev",
    "tutor.commands.learner",
    "tutor.commands.report",
    "tutor.commands.serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tutor",
        description="Learn Amazon SQS architecture patterns hands-on against LocalStack. "
        "With no command, opens the terminal app.",
    )
    parser.add_argument("--version", action="version", version=f"tutor {__version__}")
    parser.add_argument("--endpoint", metavar="URL",
                        help="LocalStack to use (default: AWS_ENDPOINT_URL, LOCALSTACK_HOST, "
                        "`tutor localstack up`, 127.0.0.1:4566, else start one)")
    parser.add_argument("--allow-host", metavar="HOST", action="append", default=[],
                        help="also allow this non-loopback emulator host (explicit opt-in)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _sigterm_as_exit(signum: int, _frame: object) -> None:
    # Turn SIGTERM/SIGHUP into a normal exit so `finally` blocks and atexit run
    # (they stop the embedded LocalStack).
    raise SystemExit(128 + signum)


def _crash_report(exc: BaseException) -> str:
    """Keep the traceback in a file for a bug report; the learner sees one line."""
    from tutor import locations

    return locations.record_crash(exc, f"tutor {__version__}")


def main(argv: Sequence[str] | None = None) -> int:
    if sys.version_info < (3, 13):  # noqa: UP036 - someone ran us with the wrong Python
        print(f"error: the tutor needs Python 3.13, this is {sys.version.split()[0]} — "
              "run it through `make run` (it builds .venv with python3.13)", file=sys.stderr)
        return EXIT_ERROR
    signal.signal(signal.SIGTERM, _sigterm_as_exit)
    signal.signal(signal.SIGHUP, _sigterm_as_exit)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from tutor.cloud import guard

        for host in args.allow_host:
            guard.allow_host(host)
        handler = getattr(args, "handler", None)
        if handler is None:
            from tutor.commands.app import run_app

            return run_app(args)
        return int(handler(args) or 0)
    except TutorError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except SystemExit:
        raise
    except argparse.ArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        print(f"error: the package `{exc.name}` is not installed in this environment — "
              "run `make install` (installs exactly constraints.txt)", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, details in a file
        where = _crash_report(exc)
        print(f"error: internal error {type(exc).__name__}: {exc} — this is a bug in the "
              f"tutor; the details are in {where}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
