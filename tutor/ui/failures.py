"""Turning any worker failure into the one error model the learner sees (a TutorError)."""

from __future__ import annotations

from tutor import locations
from tutor.errors import TutorError, from_boto


def as_tutor_error(exc: BaseException) -> TutorError:
    if isinstance(exc, TutorError):
        return exc
    if type(exc).__module__.startswith(("botocore", "boto3")):
        return from_boto(exc)
    where = locations.record_crash(exc, "tutor app")
    return TutorError(f"Internal error {type(exc).__name__}: {exc}", "Internal error",
                      f"this is a bug in the tutor; the details are in {where}")
