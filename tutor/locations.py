"""Every path the tutor builds. `TUTOR_HOME` moves all of them (tests, classrooms)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "sqs-tutor"

# The repository root when running from a checkout (labs/ and quizzes/ live there).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the tutor keeps its state: progress, workspaces, the embedded LocalStack."""
    override = os.environ.get("TUTOR_HOME", "").strip()
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_db() -> Path:
    return data_dir() / "progress.db"


def workspace_root() -> Path:
    """Where learners edit their lab files; `TUTOR_WORKSPACE` overrides it."""
    override = os.environ.get("TUTOR_WORKSPACE", "").strip()
    path = Path(override).expanduser() if override else data_dir() / "workspace"
    path.mkdir(parents=True, exist_ok=True)
    return path


def localstack_dir() -> Path:
    """Data directory of the LocalStack that the tutor starts itself."""
    path = data_dir() / "localstack"
    path.mkdir(parents=True, exist_ok=True)
    return path


def service_state_file() -> Path:
    """Where `tutor localstack up` records the shared background LocalStack."""
    return localstack_dir() / "service.json"


def sessions_dir() -> Path:
    """One record per running tutor that embeds its own LocalStack (for `tutor env`)."""
    path = localstack_dir() / "sessions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def labs_dir() -> Path:
    override = os.environ.get("TUTOR_LABS_DIR", "").strip()
    return Path(override) if override else PROJECT_ROOT / "labs"


def quizzes_dir() -> Path:
    override = os.environ.get("TUTOR_QUIZZES_DIR", "").strip()
    return Path(override) if override else PROJECT_ROOT / "quizzes"


def crash_log() -> Path:
    """Where a bug's traceback goes (the learner sees one line naming this file)."""
    return data_dir() / "crash.log"


def record_crash(exc: BaseException, who: str) -> str:
    """Append `exc`'s traceback to the crash log; returns where it went (or why not)."""
    import time
    import traceback

    try:
        path = crash_log()
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {who}\n")
            fh.write("".join(traceback.format_exception(exc)))
        return str(path)
    except OSError:
        return "(crash.log could not be written)"
