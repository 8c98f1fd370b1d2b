"""`tutor doctor`: versions, endpoint, services, Lambda, where data lives."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    doctor = sub.add_parser("doctor", help="check the set-up and say how to fix it",
                            description="Checks Python and packages, the LocalStack endpoint "
                            "and how it was chosen, each service the labs use, whether Lambda "
                            "functions can run, and where data is stored.")
    doctor.add_argument("--json", action="store_true", help="machine-readable report")
    doctor.add_argument("--start", action="store_true",
                        help="with no LocalStack running, boot an embedded one to test it")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from tutor.cloud import endpoint as ep
    from tutor.engine import doctor
    from tutor.engine.progress import open_store
    from tutor.errors import TutorError

    warning: str | None = None
    try:
        store = open_store()
        warning = store.warning
        store.close()
    except TutorError as exc:
        warning = exc.one_line()
    found = ep.resolve(args.endpoint)
    embedded = None
    if found is None and args.start:
        from tutor.cloud.embedded import EmbeddedLocalStack

        embedded = EmbeddedLocalStack()
        found = embedded.start(progress=lambda line: print(line, file=sys.stderr))
    try:
        if found is not None:
            from tutor.engine.learner import bind

            found = bind(found)
        report = doctor.run(found, warning)
    finally:
        if embedded is not None:
            embedded.stop()
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        for item in report.probes:
            mark = "[green]ok  [/]" if item.ok else "[red]FAIL[/]"
            console.print(f"{mark} [bold]{item.name}[/]: {item.detail}", soft_wrap=True)
            if item.fix:
                console.print(f"     fix: {item.fix}", soft_wrap=True)
        console.print("[green]All good.[/]" if report.ok else "[red]Something needs fixing.[/]")
    return 0 if report.ok else 1
