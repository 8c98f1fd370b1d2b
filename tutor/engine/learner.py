"""Who the learner is, and the LocalStack account their resources live in.

A classroom shares one LocalStack. LocalStack takes a 12-digit access key id as the
account id of a request, and keeps every account's queues, topics, functions... apart: a
learner id therefore maps to an account of its own, and two learners' `lab04-orders`
never meet. Without a learner id everything stays in LocalStack's default account.

Where the learner comes from (first match wins):
1. `TUTOR_ACCOUNT` (12 digits): set by `Endpoint.env()` for programs the tutor runs;
2. `TUTOR_LEARNER`: a learner id for this process only;
3. the id stored once with `tutor learner set ID` (the progress store's `learner.id`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.errors import TutorError

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

DEFAULT_ACCOUNT = "000000000000"
SETTING = "learner.id"
ACCOUNT_ENV = "TUTOR_ACCOUNT"
LEARNER_ENV = "TUTOR_LEARNER"
_ID = re.compile(r"[a-z0-9_-]{1,32}")
_ACCOUNT = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Learner:
    id: str | None  # None: no learner id set (a solo learner)
    account: str
    source: str = "default"  # where it came from, shown by `tutor learner show`


def validate(learner_id: str) -> str:
    """The id in its stored form (lowercase), or a TutorError that says what is allowed."""
    cleaned = learner_id.strip().lower()
    if not _ID.fullmatch(cleaned):
        raise TutorError(
            f"{learner_id!r} is not a valid learner id",
            "Bad learner id",
            "use 1-32 letters, digits, '-' or '_' (e.g. your school login: ada-l)")
    return cleaned


def account_for(learner_id: str) -> str:
    """A stable 12-digit account for a learner id: never the default, never a leading 0.

    SHA-256 so that the same id gives the same account on every machine (a learner who
    moves to another seat finds their queues again).
    """
    digest = hashlib.sha256(f"sqs-tutor-learner:{validate(learner_id)}".encode()).digest()
    number = 10**11 + int.from_bytes(digest[:8], "big") % (9 * 10**11)
    return f"{number:012d}"


def valid_account(account: str) -> bool:
    return bool(_ACCOUNT.fullmatch(account))


# current() is asked on every endpoint resolution; reading SQLite each time is wasteful.
_lock = threading.Lock()
_cache: dict[tuple[str, str, str], Learner] = {}


def _from_store(db: Path) -> str | None:
    if not db.is_file():  # asking must not create a progress store
        return None
    from tutor.engine.progress import open_store

    store = open_store(db)
    try:
        value = store.setting(SETTING)
    finally:
        store.close()
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def current() -> Learner:
    """The learner of this process: id (or None) and account."""
    from tutor import locations

    account_env = os.environ.get(ACCOUNT_ENV, "").strip()
    learner_env = os.environ.get(LEARNER_ENV, "").strip()
    db = locations.progress_db()
    key = (account_env, learner_env, str(db))
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    found = _resolve(account_env, learner_env, db)
    with _lock:
        _cache[key] = found
    return found


def _resolve(account_env: str, learner_env: str, db: Path) -> Learner:
    if account_env:
        if not valid_account(account_env):
            raise TutorError(f"{ACCOUNT_ENV}={account_env!r} is not a 12-digit account id",
                             "Bad account", f"unset {ACCOUNT_ENV}, or give 12 digits")
        learner_id = validate(learner_env) if learner_env else None
        return Learner(learner_id, account_env, ACCOUNT_ENV)
    if learner_env:
        learner_id = validate(learner_env)
        return Learner(learner_id, account_for(learner_id), LEARNER_ENV)
    stored = _from_store(db)
    if stored:
        return Learner(stored, account_for(stored), "progress store")
    return Learner(None, DEFAULT_ACCOUNT, "default")


def bind(endpoint: Endpoint) -> Endpoint:
    """`endpoint`, acting in this learner's account: the edge (CLI, app) calls this once
    after resolving, so that the cloud layer never reads the progress store."""
    return replace(endpoint, account=current().account)


def stored_id() -> str | None:
    """The id kept in the progress store (ignoring the environment)."""
    from tutor import locations

    return _from_store(locations.progress_db())


def set_id(learner_id: str, *, force: bool = False) -> Learner:
    """Store the learner id once; changing it needs `force` (the old account stays)."""
    from tutor import locations
    from tutor.engine.progress import open_store

    new = validate(learner_id)
    old = stored_id()
    if old is not None and old != new and not force:
        raise TutorError(
            f"this tutor already belongs to learner {old!r} (account {account_for(old)})",
            "Learner id already set",
            f"run `tutor learner set {new} --force` to change it; the resources of "
            f"{old!r}'s account stay in LocalStack")
    store = open_store(locations.progress_db())
    try:
        store.set_setting(SETTING, new)
    finally:
        store.close()
    forget()
    return Learner(new, account_for(new), "progress store")


def forget() -> None:
    """Drop the cached answer of `current()` (after the id or the environment changed)."""
    with _lock:
        _cache.clear()
