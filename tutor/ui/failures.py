"""Turning any worker failure into the one error model the learner sees (a TutorError)."""

from __future__ import annotations

import time
import traceback

from tutor.errors import TutorError, from_boto


def _crash_log(exc: BaseException) -> str:
    """Keep the traceback in a file for a bug report; the learner sees one line."""
    try:
        from tutor import locations

        path = locations.data_dir() / "crash.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} tutor app\n")
            fh.write("".join(traceback.format_exception(exc)))
        return str(path)
    except OSError:
        return "(crash.log could not be written)"


def as_tutor_error(exc: BaseException) -> TutorError:
    if isinstance(exc, TutorError):
        return exc
    if type(exc).__module__.startswith(("botocore", "boto3")):
        return from_boto(exc)
    where = _crash_log(exc)
    return TutorError(f"Internal error {type(exc).__name__}: {exc}", "Internal error",
                      f"this is a bug in the tutor; the details are in {where}")
