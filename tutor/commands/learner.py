"""`tutor learner set ID` and `tutor learner show`: who you are, which account is yours."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def register(sub: Any) -> None:
    learner = sub.add_parser(
        "learner", help="your learner id (a classroom): your own LocalStack account",
        description="Set once per learner. Each learner id is its own LocalStack account, so "
        "learners sharing one LocalStack never see each other's queues.")
    actions = learner.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser("set", help="store your learner id (once)")
    set_.add_argument("id", metavar="ID", help="1-32 letters, digits, '-' or '_'")
    set_.add_argument("--force", action="store_true",
                      help="replace an id already set (its resources stay in LocalStack)")
    set_.set_defaults(handler=_set)
    show = actions.add_parser("show", help="your learner id and account")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


def _shell_mismatch(account: str) -> str | None:
    """A TUTOR_ACCOUNT exported by an earlier `eval "$(tutor env)"` that now disagrees."""
    exported = os.environ.get("TUTOR_ACCOUNT", "").strip()
    if exported and exported != account:
        return (f"this shell still exports TUTOR_ACCOUNT={exported} (an earlier "
                '`eval "$(tutor env)"`): run it again so your code uses the new account')
    return None


def _set(args: argparse.Namespace) -> int:
    from tutor.engine import learner

    old = learner.stored_id()
    new = learner.set_id(args.id, force=args.force)
    if old == new.id:
        print(f"Learner id is already {new.id} (account {new.account})")
    else:
        print(f"Learner id: {new.id} — your LocalStack account: {new.account}")
        if old is not None:
            print(f"The resources of {old!r} (account {learner.account_for(old)}) stay in "
                  "LocalStack; set that id again to reach them")
    if getattr(args, "endpoint", None):
        _report_endpoint(args)
    warning = _shell_mismatch(new.account)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _report_endpoint(args: argparse.Namespace) -> None:
    """With `--endpoint` (a classroom LocalStack): say whether it answers."""
    from tutor.cloud.endpoint import resolve
    from tutor.cloud.health import probe

    found = resolve(args.endpoint, probe_default=False)
    if found is None:
        return
    from tutor.engine.learner import bind

    found = bind(found)
    if probe(found.url, timeout=2.0).reachable:
        print(f"LocalStack at {found.url} answers; your resources there live in account "
              f"{found.account}")
    else:
        print(f"warning: nothing answers at {found.url} yet (is the classroom LocalStack "
              "up?)", file=sys.stderr)


def _show(args: argparse.Namespace) -> int:
    from tutor.engine import learner

    who = learner.current()
    report = {"id": who.id, "account": who.account, "source": who.source,
              "stored_id": learner.stored_id()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if who.id is None and who.account == learner.DEFAULT_ACCOUNT:
        print(f"No learner id set: LocalStack's default account {who.account}. "
              "In a classroom run `tutor learner set ID` once.")
    else:
        print(f"Learner {who.id or '(none)'}, account {who.account} (from {who.source})")
    stored = report["stored_id"]
    warning = _shell_mismatch(learner.account_for(stored)) if stored else None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
