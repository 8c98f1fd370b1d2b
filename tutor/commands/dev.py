"""`tutor dev check`: validate all content and prove every lab against a real LocalStack."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    dev = sub.add_parser("dev", help="tools for course authors",
                         description="Tools for people who write labs and quiz banks.")
    actions = dev.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check", help="validate all content; prove each lab (starter fails, solution "
        "passes, reset is clean)",
        description="Validates every lab and quiz bank, then for every lab proves against "
        "LocalStack that its checks fail on the starter, pass after the reference solution, "
        "and that reset leaves no resource behind. Uses a private embedded LocalStack unless "
        "--endpoint is given.")
    check.add_argument("--lab", action="append", metavar="LAB",
                       help="prove only this lab (repeatable)")
    check.add_argument("--content-only", action="store_true",
                       help="validate content without running any lab")
    check.add_argument("--json", action="store_true", help="machine-readable report")
    check.add_argument("--no-corpus", action="store_true",
                       help="skip the mistakes corpus (labs/NN/mistakes/)")
    check.add_argument("--parallel", type=int, default=3, metavar="N",
                       help="corpus cases run at once, each in its own account (default 3)")
    check.set_defaults(handler=_check)
    corpus = actions.add_parser(
        "corpus", help="prove a lab's mistakes corpus only (every mistake fails its step "
        "with its words, every variant passes)",
        description="Runs the cases of labs/NN/mistakes/ against LocalStack, each in its "
        "own account, without the starter/solution proof.")
    corpus.add_argument("--lab", action="append", metavar="LAB", required=True)
    corpus.add_argument("--case", action="append", metavar="CASE",
                        help="only this case (repeatable)")
    corpus.add_argument("--parallel", type=int, default=3, metavar="N",
                        help="cases run at once, each in its own account (default 3)")
    corpus.add_argument("--json", action="store_true", help="machine-readable report")
    corpus.set_defaults(handler=_corpus)


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from tutor import locations
    from tutor.engine.labs.loader import get_lab, lab_dirs, load_lab
    from tutor.engine.labs.pool import run_corpora
    from tutor.engine.labs.selftest import SelfTestResult, validate_content

    console = Console(highlight=False, soft_wrap=True, stderr=args.json)
    problems = validate_content(locations.labs_dir(), locations.quizzes_dir())
    console.print(f"Content: {'[green]valid[/]' if not problems else '[red]problems[/]'}")
    for problem in problems:
        console.print(f"  [red]✘[/] {escape(problem)}")
    results: list[SelfTestResult] = []
    if not args.content_only:
        labs = []
        if args.lab:
            labs = [get_lab(name) for name in args.lab]
        else:
            for path in lab_dirs(locations.labs_dir()):
                try:
                    labs.append(load_lab(path))
                except Exception:  # already reported by validate_content
                    continue
        endpoint, embedded = _endpoint(args, console)
        try:
            console.print(f"Proving {len(labs)} lab(s), {max(1, args.parallel)} at a time: "
                          f"{', '.join(lab.id for lab in labs)} ...")
            proven = run_corpora(labs, endpoint, parallel=max(1, args.parallel),
                                 cases=not args.no_corpus, selftests=("default",))
            for corpus in proven:
                result = corpus.selftests["default"]
                if not args.no_corpus:
                    result.corpus = corpus
                    result.phases["corpus"] = corpus.seconds
                    result.problems.extend(corpus.failures())
                results.append(result)
                phases = ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items())
                mark = "[green]✔[/]" if result.ok else "[red]✘[/]"
                console.print(f"  {mark} {result.lab_id} in {result.seconds:.1f} s ({phases})")
                if result.corpus is not None:
                    counts = result.corpus.counts()
                    console.print(f"    corpus: {counts['caught']}/{counts['mistakes']} "
                                  f"mistakes caught, {counts['passed']}/{counts['variants']} "
                                  f"variants passed in {result.corpus.seconds:.1f} s")
                for problem in result.problems:
                    console.print(f"    [red]{escape(problem)}[/]")
        finally:
            if embedded is not None:
                embedded.stop()
    ok = not problems and all(r.ok for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "content_problems": problems, "labs": [
            {"lab": r.lab_id, "ok": r.ok, "problems": r.problems,
             "phases": {k: round(v, 2) for k, v in r.phases.items()},
             "check_seconds_max": round(max(r.check_seconds, default=0.0), 3),
             "corpus": None if r.corpus is None else {
                 **r.corpus.counts(), "seconds": round(r.corpus.seconds, 1),
                 "cases": [{"id": c.case.id, "kind": c.case.spec.kind, "step": c.case.spec.step,
                            "ok": c.ok, "seconds": round(c.seconds, 1), "detail": c.detail}
                           for c in r.corpus.results]}}
            for r in results]}, indent=2))
    return 0 if ok else 1


def _corpus(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from tutor.engine.labs.corpus import CaseResult
    from tutor.engine.labs.loader import get_lab
    from tutor.engine.labs.pool import run_corpora

    console = Console(highlight=False, soft_wrap=True, stderr=args.json)
    labs = [get_lab(name) for name in args.lab]
    endpoint, embedded = _endpoint(args, console)
    summary: list[dict[str, Any]] = []
    ok = True

    def show(result: CaseResult) -> None:
        mark = "[green]✔[/]" if result.ok else "[red]✘[/]"
        console.print(f"  {mark} {result.lab_id} {result.case.spec.kind:8} {result.case.id} "
                      f"({result.case.spec.step}, {result.seconds:.1f} s): "
                      f"{escape(result.detail[:400])}")

    try:
        console.print(f"Corpus of [bold]{', '.join(lab.id for lab in labs)}[/] ...")
        for result in run_corpora(labs, endpoint, parallel=max(1, args.parallel),
                                  only=args.case, on_case=show):
            for problem in result.problems:
                console.print(f"  [red]✘ {escape(problem)}[/]")
            counts = result.counts()
            console.print(f"  {result.lab_id}: {counts['caught']}/{counts['mistakes']} "
                          f"mistakes caught, {counts['passed']}/{counts['variants']} variants "
                          f"passed in {result.seconds:.1f} s")
            ok = ok and result.ok
            summary.append({"lab": result.lab_id, "ok": result.ok, **counts,
                            "seconds": round(result.seconds, 1), "problems": result.problems,
                            "cases": [{"id": c.case.id, "ok": c.ok, "detail": c.detail,
                                       "seconds": round(c.seconds, 1)}
                                      for c in result.results]})
    finally:
        if embedded is not None:
            embedded.stop()
    if args.json:
        print(json.dumps({"ok": ok, "labs": summary}, indent=2))
    return 0 if ok else 1


def _endpoint(args: argparse.Namespace, console: Any) -> tuple[Any, Any]:
    """The LocalStack to prove against: --endpoint, else a private embedded one."""
    from tutor.cloud import endpoint as ep

    if args.endpoint:
        found = ep.resolve(args.endpoint)
        assert found is not None
        return found, None
    import tempfile
    from pathlib import Path

    from tutor.cloud.embedded import EmbeddedLocalStack

    embedded = EmbeddedLocalStack(data=Path(tempfile.mkdtemp(prefix="tutor-devcheck-")))
    found = embedded.start(progress=lambda line: print(line, file=sys.stderr))
    return found, embedded
