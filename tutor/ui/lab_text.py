"""A lab's overview, a step's brief and its check results as Markdown for the lab screen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.engine.labs.api import ResetResult
    from tutor.engine.labs.loader import Lab
    from tutor.engine.labs.model import Step
    from tutor.engine.labs.runner import StepReport

EVIDENCE_CHARS = 1200
OUTPUT_LINES = 25


def overview(lab: Lab) -> str:
    spec = lab.spec
    lines = [f"## {spec.number} · {spec.title}", "",
             f"**Pattern:** `{spec.pattern}` · about {spec.minutes} min · "
             f"resources are named `{lab.prefix}*`", "", "```text", spec.diagram.rstrip(),
             "```", "", "### Goals", ""]
    lines += [f"- {goal}" for goal in spec.goals]
    lines += ["", "### Exam pointers", "",
              "Tags: " + ", ".join(f"`{t}`" for t in spec.exam.pointers),
              "", "Domains: " + ", ".join(f"`{d}`" for d in spec.exam.domains)]
    clock = lab.clock.table()
    if clock:
        lines += ["", "### The lab clock", "",
                  "Timings are compressed so that a lab takes minutes; each stands for a "
                  "production value:", ""]
        lines += [f"- {line}" for line in clock]
    return "\n".join(lines)


def _evidence(evidence: dict[str, Any]) -> str:
    text = json.dumps(evidence, indent=1, default=str)
    if len(text) > EVIDENCE_CHARS:
        text = text[:EVIDENCE_CHARS] + "\n… (cut)"
    return text


def results(report: StepReport) -> list[str]:
    """The check results of one step: every failure as "Expected X, found Y" with evidence."""
    lines = ["### Last check", "",
             f"**{report.status}** · {report.score:g} of {report.max_score:g} points · "
             f"{report.seconds:.1f} s", ""]
    if report.note:
        lines += [f"> {report.note}", ""]
    for check in report.checks:
        mark = "✓" if check.passed else ("◐" if check.score > 0 else "✗")
        lines.append(f"- {mark} **{check.title}** ({check.score:g}/{check.weight:g})  ")
        lines.append(f"  {check.message}")
        if not check.passed and check.evidence:
            lines += ["", "  ```json", *("  " + line for line in
                                          _evidence(check.evidence).splitlines()), "  ```"]
        if not check.passed and check.by_hand:  # what the check read, as shell commands
            lines += ["", "  See it yourself (after `eval \"$(tutor env)\"`):", "",
                      "  ```sh", *(f"  {command}" for command in check.by_hand), "  ```"]
    if report.output:
        tail = report.output.rstrip().splitlines()[-OUTPUT_LINES:]
        lines += ["", "#### Your program's output", "", "```text", *tail, "```"]
    return lines


def step_brief(index: int, step: Step, hints_shown: int, report: StepReport | None,
               detail: dict[str, Any] | None = None) -> str:
    """The selected step: its text, the hints seen so far, and its latest results."""
    blocker = " · blocker: later steps wait for it" if step.blocker else ""
    lines = [f"## Step {index + 1}: {step.title}", "",
             f"`{step.id}` · {len(step.checks)} check(s), {step.max_score:g} points{blocker}",
             "", step.text.strip(), ""]
    if hints_shown:
        lines += ["### Hints", ""]
        for i, hint in enumerate(step.hints[:hints_shown]):
            lines.append(f"{i + 1}. {hint.strip()}")
        lines += ["", f"*hint {hints_shown} of {len(step.hints)}"
                  + (" — the solution (`o`) is open to you now*" if hints_shown >= len(step.hints)
                     else " — `h` for the next*"), ""]
    if report is not None:
        lines += results(report)
    elif detail:
        lines += ["### Last check (from an earlier session)", ""]
        for check in detail.get("checks", []):
            mark = "✓" if check.get("passed") else "✗"
            lines.append(f"- {mark} **{check.get('title', check.get('id'))}**  ")
            lines.append(f"  {check.get('message', '')}")
    else:
        lines += ["*Not checked yet: press `c` when your work is saved.*"]
    return "\n".join(lines)


def reset_report(result: ResetResult) -> str:
    """What a reset did: the starter restored, the cloud resources deleted (or left)."""
    lines = [f"The starter is back in `{result.workspace}`.", ""]
    deleted = {kind: names for kind, names in result.deleted.items() if names}
    if deleted:
        lines += ["**Deleted from LocalStack:**", ""]
        lines += [f"- {kind}: {', '.join(names)}" for kind, names in deleted.items()]
    else:
        lines.append("Nothing to delete in LocalStack: the lab had no resources.")
    left = {kind: names for kind, names in result.left.items() if names}
    if left or result.errors:
        lines += ["", "**Left behind:**", ""]
        lines += [f"- {kind}: {', '.join(names)}" for kind, names in left.items()]
        lines += [f"- {error}" for error in result.errors]
    return "\n".join(lines)


def start_over(workspace: Path | None, changed: list[str]) -> str:
    shown = "\n".join(f"  {name}" for name in changed[:8])
    more = f"\n  … and {len(changed) - 8} more" if len(changed) > 8 else ""
    name = workspace.name if workspace else "the folder"
    return (f"Your workspace {workspace} already has your work:\n{shown}{more}\n\n"
            f"Starting over copies a fresh starter; your folder is kept as {name}.bak.")


def reset_warning(lab: Lab, workspace: Path) -> str:
    return (f"This restores the pristine starter in {workspace} (your files are kept once "
            f"as {lab.id}.bak) and deletes every LocalStack resource named {lab.prefix}*.")
