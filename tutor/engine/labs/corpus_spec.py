"""A mistakes-corpus case: the `case.yaml` model, and reading a lab's cases.

Each case is a folder `labs/NN-slug/mistakes/<case-id>/` with a `case.yaml` (schema
below) and any files it puts into the workspace:

```yaml
format: 1
kind: mistake                 # mistake: the step must fail; variant: the step must pass
step: poison                  # the step it targets (only that step is checked)
title: deletes every message in `finally:`, processed or not
base: solution                # solution: the steps before are solved and this step's
                              #   solution files are in place, then the case changes them;
                              # before: only the steps before are solved (the case brings
                              #   this step's work itself: files, CLI commands)
files: [worker.py]            # files of this folder copied over the workspace
edits:                        # then text replacements in workspace files
  - {file: worker.py, replace: "    finally:", with: "    except Exception:"}
run: [infra.py]               # then workspace scripts or shell commands (default: the
                              #   step's solution `run`); commands get the endpoint env,
                              #   with the tutor's Python first on PATH
expect:                       # mistakes only: what the failure must say
  check: poison-isolated      #   this check fails (optional; a list: one of them fails,
                              #   when timing decides which check sees the mistake first)
  words: [deleted, lost]      #   and its message holds these words (case-insensitive)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutor.engine.content_yaml import parse_yaml
from tutor.engine.labs.loader import Lab
from tutor.engine.suggest import did_you_mean

CASES_DIR = "mistakes"
CASE_FILE = "case.yaml"
COMMAND_TIMEOUT = 60.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Edit(_Strict):
    file: str
    replace: str = Field(min_length=1)
    with_: str = Field(alias="with")
    count: int = Field(default=1, ge=1)  # how often `replace` must occur


class Expect(_Strict):
    check: str | list[str] = ""  # the id of the check that must fail, or ids of which one must
    words: list[str] = Field(default_factory=list)

    @property
    def checks(self) -> list[str]:
        return [self.check] if isinstance(self.check, str) and self.check else \
            list(self.check or [])


class CaseSpec(_Strict):
    format: Literal[1] = 1
    kind: Literal["mistake", "variant"]
    step: str
    title: str = Field(min_length=1)
    base: Literal["solution", "before"] = "solution"
    files: list[str] = Field(default_factory=list)
    edits: list[Edit] = Field(default_factory=list)
    run: list[str] | None = None
    expect: Expect = Field(default_factory=Expect)
    fresh: bool = False  # never share the cloud set-up with the case before it
    timeout: float = Field(default=COMMAND_TIMEOUT, gt=0, le=300)  # per `run` command

    @model_validator(mode="after")
    def _expectations(self) -> CaseSpec:
        if self.kind == "mistake" and not self.expect.words:
            raise ValueError("a mistake needs `expect.words`: what its failure message "
                             "must say to name the mistake")
        if self.kind == "variant" and (self.expect.words or self.expect.check):
            raise ValueError("a variant must pass: it takes no `expect`")
        return self


@dataclass(frozen=True)
class Case:
    id: str
    path: Path
    spec: CaseSpec


def load_cases(lab: Lab) -> tuple[list[Case], list[str]]:
    """The lab's cases, and one problem line per case that cannot be used."""
    root = lab.path / CASES_DIR
    cases: list[Case] = []
    problems: list[str] = []
    if not root.is_dir():
        return cases, problems
    steps = {s.id: s for s in lab.spec.steps}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        file = folder / CASE_FILE
        try:
            raw = parse_yaml(file.read_text(encoding="utf-8"))
            spec = CaseSpec.model_validate(raw)
        except OSError:
            problems.append(f"{file}: missing — every case folder needs a {CASE_FILE}")
            continue
        except yaml.YAMLError as exc:
            problems.append(f"{file}: malformed YAML: {getattr(exc, 'problem', exc)}")
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            problems.append(f"{file}: field `{where}`: "
                            f"{str(first['msg']).removeprefix('Value error, ')}")
            continue
        step = steps.get(spec.step)
        if step is None:
            hint = did_you_mean(spec.step, list(steps))
            problems.append(f"{file}: field `step`: unknown step `{spec.step}` — "
                            f"{hint or 'steps: ' + ', '.join(steps)}")
            continue
        checks = {c.id for c in step.checks}
        unknown = [c for c in spec.expect.checks if c not in checks]
        if unknown:
            problems.append(f"{file}: field `expect.check`: step `{spec.step}` has no check "
                            f"`{unknown[0]}` — checks: {', '.join(sorted(checks))}")
            continue
        missing = [f for f in spec.files if not (folder / f).is_file()]
        if missing:
            problems.append(f"{file}: field `files`: {missing[0]} is not in {folder}")
            continue
        cases.append(Case(folder.name, folder, spec))
    return cases, problems
