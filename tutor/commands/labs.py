"""`tutor labs` and `tutor lab show|start|check|hint|solution|reset|watch <id>`."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    labs = sub.add_parser("labs", help="list the labs and your progress",
                          description="The hands-on labs, in learning order.")
    labs.add_argument("--json", action="store_true", help="machine-readable output")
    labs.set_defaults(handler=_labs)

    lab = sub.add_parser("lab", help="work on one lab (show, start, check, hint...)",
                         description="Work on one lab. LAB is its id, number or slug: "
                         "`04`, `4`, `04-retry-dlq`, `retry-dlq`.")
    actions = lab.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, text: str, handler: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        parser.add_argument("lab", metavar="LAB")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.set_defaults(handler=handler)
        return parser

    action("show", "the lab's story, diagram, steps, clock and your progress", _show)
    start = action("start", "copy the starter files into your workspace", _start)
    start.add_argument("--force", action="store_true",
                       help="start over even if you changed files (they are kept as .bak)")
    check = action("check", "check your work against LocalStack", _check)
    check.add_argument("--step", action="append", metavar="STEP",
                       help="check only this step (repeatable)")
    hint = action("hint", "the next hint for the current (or given) step", _hint)
    hint.add_argument("--step", metavar="STEP")
    solution = action("solution", "show the reference solution (after the last hint)",
                      _solution)
    solution.add_argument("--step", metavar="STEP")
    solution.add_argument("--apply", action="store_true",
                          help="write it into your workspace and run its scripts")
    solution.add_argument("--force", action="store_true", help="show it even before the hints")
    action("reset", "restore the starter files and delete the lab's cloud resources", _reset)
    watch = action("watch", "re-check whenever you save a file in the workspace", _watch)
    watch.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    watch.add_argument("--max-runs", type=int, default=0, help=argparse.SUPPRESS)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _store() -> Any:
    from tutor.engine.progress import open_store

    return open_store()


def _get(args: argparse.Namespace) -> Any:
    from tutor.engine.labs.api import get_lab

    return get_lab(args.lab)


def _labs(args: argparse.Namespace) -> int:
    import sys

    from tutor.engine.labs.api import lab_status, load_valid_labs

    store = _store()
    rows: list[dict[str, Any]] = []
    labs, problems = load_valid_labs()
    for problem in problems:  # a broken lab must not hide the others
        print(f"warning: {problem}", file=sys.stderr)
    for lab in labs:
        status = lab_status(lab, store)
        done = sum(1 for s in status.steps if s.passed)
        rows.append({"id": lab.id, "title": lab.title, "minutes": lab.spec.minutes,
                     "steps": len(lab.spec.steps), "steps_passed": done,
                     "started": status.started, "completed": status.completed})
    if args.json:
        _dump(rows)
        return 0
    console = _console()
    for row in rows:
        mark = ("[green]done[/]" if row["completed"] else
                f"{row['steps_passed']}/{row['steps']}" if row["started"] else "    ")
        console.print(f"{mark:>4}  [bold]{row['id']}[/]  {_esc(row['title'])} "
                      f"[dim](~{row['minutes']} min)[/]")
    console.print("[dim]Start one with `tutor lab start 04`.[/]")
    return 0


def _show(args: argparse.Namespace) -> int:
    from tutor.engine.labs.api import lab_status

    lab = _get(args)
    status = lab_status(lab, _store()).to_dict()
    spec = lab.spec
    if args.json:
        _dump(spec.model_dump() | {"prefix": lab.prefix, "clock_explained": lab.clock.table(),
                                   "status": status})
        return 0
    console = _console()
    console.print(f"[bold]{spec.id}: {_esc(spec.title)}[/]  [dim](~{spec.minutes} min, "
                  f"resources prefixed `{lab.prefix}`)[/]")
    console.print(_esc(spec.diagram.rstrip()))
    console.print("[bold]You will be able to[/]")
    for goal in spec.goals:
        console.print(f"  - {_esc(goal)}")
    console.print(f"[bold]Exam pointers[/] {', '.join(spec.exam.pointers)}  "
                  f"[dim]({', '.join(spec.exam.domains)})[/]")
    if spec.clock:
        console.print("[bold]Lab clock[/]")
        for line in lab.clock.table():
            console.print(f"  {_esc(line)}")
    console.print("[bold]Steps[/]")
    for number, (step, info) in enumerate(zip(spec.steps, status["steps"], strict=True), 1):
        mark = {True: "[green]✔[/]", False: "[red]✘[/]", None: " "}[info["passed"]]
        console.print(f" {mark} {number}. [bold]{step.id}[/] {_esc(step.title)}"
                      + (" [dim](blocker)[/]" if step.blocker else ""))
        console.print("    " + _esc(step.text.strip()).replace("\n", "\n    "))
    console.print(f"[dim]Workspace: {status['workspace']}  ·  story: {lab.readme}[/]")
    return 0


def _start(args: argparse.Namespace) -> int:
    from tutor.engine.labs.api import start_lab

    lab = _get(args)
    path = start_lab(lab, force=args.force, store=_store())
    if args.json:
        _dump({"lab": lab.id, "workspace": str(path)})
        return 0
    console = _console()
    console.print(f"Lab [bold]{lab.id}[/] is ready in [bold]{path}[/]")
    console.print(f"  1. Read the story: {lab.readme}  (or `tutor lab show {lab.id}`)")
    console.print('  2. In a shell: eval "$(tutor env)"  then  cd ' + str(path))
    console.print(f"  3. Edit the files marked TODO; check with `tutor lab check {lab.id}` "
                  f"(or `tutor lab watch {lab.id}`)")
    return 0


def _print_step(console: Any, lab: Any, number: int, report: Any) -> None:
    icon = {"passed": "[green]✔[/]", "failed": "[red]✘[/]", "blocked": "[yellow]⏸[/]",
            "skipped": "[blue]↷[/]", "unreachable": "[yellow]?[/]"}[report.status]
    score = f"{report.score:g}/{report.max_score:g}"
    console.print(f" {icon} {number}. [bold]{report.step_id}[/] {_esc(report.title)}  "
                  f"[dim]{score} · {report.seconds:.1f} s[/]")
    if report.status in ("blocked", "skipped", "unreachable"):
        console.print(f"      [dim]{_esc(report.note)}[/]")
        return
    for result in report.checks:
        mark = "[green]✔[/]" if result.passed else "[red]✘[/]"
        if result.passed and not result.skipped:
            console.print(f"      {mark} {_esc(result.title)}")
        else:
            console.print(f"      {mark} {_esc(result.message)}")
            for command in result.by_hand:  # what the check read, as shell commands
                console.print(f"        [dim]see it yourself:[/] {_esc(command)}")
            shown = str(result.evidence.get("output", "")).strip()
            if shown and not report.output:  # what the learner's programs printed
                tail = "\n".join(shown.splitlines()[-12:])
                console.print("        [dim]" + _esc(tail).replace("\n", "\n        ") + "[/]")
    if report.output:
        console.print("      [dim]output of your programs:[/]")
        console.print("        " + _esc(report.output).replace("\n", "\n        "))


def _run_check(args: argparse.Namespace, lab: Any, store: Any) -> Any:
    from tutor.commands.connect import connect
    from tutor.engine.labs.api import run_checks

    endpoint = connect(args, quiet=args.json)
    console = _console()
    numbers = {s.id: i for i, s in enumerate(lab.spec.steps, 1)}
    if not args.json:
        console.print(f"Checking [bold]{lab.id}[/] against {endpoint.url} ...")

    def show(report: Any) -> None:
        if not args.json:
            _print_step(console, lab, numbers[report.step_id], report)

    report = run_checks(lab, endpoint, on_result=show, store=store,
                        steps=getattr(args, "step", None))
    if args.json:
        _dump(report.to_dict())
    else:
        verdict = "[green]All steps pass.[/]" if report.passed else ""
        first = next((s for s in report.steps if s.status == "failed"), None)
        if first is not None:
            verdict = (f"Next: fix step [bold]{first.step_id}[/] "
                       f"(`tutor lab hint {lab.id} --step {first.step_id}`)")
        console.print(f"Score {report.score:g}/{report.max_score:g} in "
                      f"{report.seconds:.1f} s. {verdict}")
    return report


def _check(args: argparse.Namespace) -> int:
    lab = _get(args)
    report = _run_check(args, lab, _store())
    return 0 if report.passed else 1


def _current_step(lab: Any, store: Any) -> str:
    latest = store.latest_steps(lab.id)
    for step in lab.spec.steps:
        if step.id not in latest or not latest[step.id].passed:
            return str(step.id)
    return str(lab.spec.steps[-1].id)


def _hint(args: argparse.Namespace) -> int:
    from tutor.engine.labs.api import next_hint

    lab = _get(args)
    store = _store()
    step_id = args.step or _current_step(lab, store)
    hint = next_hint(lab, step_id, store)
    if args.json:
        _dump({"lab": lab.id, "step": step_id, "index": hint.index, "total": hint.total,
               "hint": hint.text, "last": hint.last})
        return 0
    console = _console()
    console.print(f"[bold]{lab.id} · {step_id}[/] hint {hint.index + 1} of {hint.total}:")
    console.print(f"  {_esc(hint.text)}")
    if hint.last:
        console.print(f"[dim]That was the last hint; `tutor lab solution {lab.id} --step "
                      f"{step_id}` shows the reference solution.[/]")
    return 0


def _solution(args: argparse.Namespace) -> int:
    from tutor.engine.labs.api import apply_solution, reveal_solution

    lab = _get(args)
    store = _store()
    files = reveal_solution(lab, store, args.step, force=args.force)
    done: list[str] = []
    if args.apply:
        from tutor.commands.connect import connect

        endpoint = connect(args, quiet=args.json)
        done = apply_solution(lab, endpoint, [args.step] if args.step else None)
    if args.json:
        _dump({"lab": lab.id, "step": args.step, "files": files, "applied": done})
        return 0
    console = _console()
    for name, text in files.items():
        console.rule(f"solution/{name}")
        console.print(_esc(text.rstrip()))
    for line in done:
        console.print(f"[green]✔[/] {_esc(line)}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from tutor.commands.connect import connect
    from tutor.engine.labs.api import reset_lab

    lab = _get(args)
    endpoint = connect(args, quiet=args.json)
    result = reset_lab(lab, endpoint, store=_store())
    if args.json:
        _dump({"lab": lab.id, "workspace": str(result.workspace), "deleted": result.deleted,
               "left": result.left, "errors": result.errors})
        return 0 if not result.left else 1
    console = _console()
    count = sum(len(v) for v in result.deleted.values())
    console.print(f"Restored the starter in [bold]{result.workspace}[/] (your previous files "
                  f"are in {result.workspace.name}.bak); deleted {count} `{lab.prefix}*` "
                  "resources.")
    for service, names in result.deleted.items():
        console.print(f"  [dim]{service}: {', '.join(n.rsplit('/', 1)[-1] for n in names)}[/]")
    for error in result.errors:
        console.print(f"  [red]{_esc(error)}[/]")
    if result.left:
        console.print(f"[red]Still there:[/] {result.left}")
        return 1
    return 0


def _watch(args: argparse.Namespace) -> int:
    from tutor.engine.labs.watch import Watcher

    lab = _get(args)
    store = _store()
    watcher = Watcher(lab)
    console = _console()
    runs = 0
    try:
        _run_check(args, lab, store)
        runs += 1
        if not args.json:
            console.print(f"[dim]Watching {watcher.root} — save a file to re-check, "
                          "Ctrl-C to stop.[/]")
        while not args.max_runs or runs < args.max_runs:
            changed = watcher.wait(interval=args.interval)
            if not args.json:
                console.print(f"[dim]{', '.join(changed)} changed[/]")
            _run_check(args, lab, store)
            runs += 1
    except KeyboardInterrupt:
        if not args.json:
            console.print("[dim]Stopped watching.[/]")
    return 0
