"""Load and validate lab folders; every problem names the file, the step and the field."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import yaml
from pydantic import ValidationError

from tutor.engine.content_yaml import parse_yaml
from tutor.engine.labs.builtins import BUILTINS, builtin_problems
from tutor.engine.labs.checks import CheckFn, ScenarioFn
from tutor.engine.labs.clock import LabClock
from tutor.engine.labs.faults import Fault, from_spec
from tutor.engine.labs.model import (
    EXAM_DOMAINS,
    EXAM_TAGS,
    RUNTIMES,
    CheckRef,
    ClockEntry,
    Exam,
    LabSpec,
    SolutionAction,
    Step,
)
from tutor.engine.suggest import did_you_mean
from tutor.errors import TutorError

_LAB_DIR = re.compile(r"^\d\d-")  # a course folder; fixtures may be named otherwise

# Field names per level, for "did you mean" on unknown fields.
_FIELDS: dict[str, tuple[str, ...]] = {
    "lab": tuple(LabSpec.model_fields), "step": tuple(Step.model_fields),
    "check": tuple(CheckRef.model_fields), "solution": tuple(SolutionAction.model_fields),
    "exam": tuple(Exam.model_fields), "clock": tuple(ClockEntry.model_fields),
}


class LabContentError(TutorError):
    """One or more problems in a lab's content; `problems` lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        first = problems[0] if problems else "invalid lab"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(message=first + more, title="Invalid lab content",
                         fix="fix the file named above; `tutor dev check` lists every problem")


@dataclass
class Lab:
    """A validated lab: its spec, its folder, and the functions of its checks.py."""

    spec: LabSpec
    path: Path
    checks: dict[str, CheckFn] = field(default_factory=dict)
    scenarios: dict[str, ScenarioFn] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def prefix(self) -> str:
        return self.spec.prefix

    @property
    def clock(self) -> LabClock:
        return LabClock(self.spec.clock)

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def solution(self) -> Path:
        return self.path / "solution"

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    def step(self, step_id: str) -> Step:
        for step in self.spec.steps:
            if step.id == step_id:
                return step
        hint = did_you_mean(step_id, [s.id for s in self.spec.steps])
        raise TutorError(f"Lab {self.id} has no step `{step_id}`", "Unknown step",
                         hint or "steps: " + ", ".join(s.id for s in self.spec.steps))

    def tags(self, step: Step) -> list[str]:
        return list(step.exam or self.spec.exam.pointers)

    def faults(self, scenario: str) -> list[Fault]:
        """The faults lab.yaml injects into the programs `scenario` starts."""
        return [from_spec(spec.model_dump()) for spec in self.spec.faults.get(scenario, [])]


def _where(raw: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """(step description, dotted field) for a pydantic error location."""
    step = ""
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        index = loc[1]
        step_id = "?"
        steps = raw.get("steps") if isinstance(raw, dict) else None
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
            step_id = str(steps[index].get("id", "?"))
        step = f"step `{step_id}` (steps[{index}])"
        loc = loc[2:]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return step, "".join(parts).lstrip(".")


def _level(loc: tuple[int | str, ...]) -> str:
    names = [p for p in loc[:-1] if isinstance(p, str)]
    if not names:
        return "lab"
    last = names[-1]
    return {"steps": "step", "checks": "check", "solution": "solution", "exam": "exam",
            "clock": "clock"}.get(last, "clock" if "clock" in names else "lab")


def _pydantic_problems(file: Path, raw: Any, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        step, dotted = _where(raw, loc)
        where = ", ".join(p for p in (step, f"field `{dotted}`" if dotted else "") if p)
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            hint = did_you_mean(name, _FIELDS.get(_level(loc), ()))
            fix = hint or f"remove it; allowed: {', '.join(_FIELDS.get(_level(loc), ()))}"
            problems.append(f"{file}: {where}: unknown field — {fix}")
        elif kind == "missing":
            problems.append(f"{file}: {where}: required field is missing — add "
                            f"`{loc[-1]}:`")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            value = err.get("input")
            got = "" if isinstance(value, dict | list) else f" (got {value!r:.60})"
            problems.append(f"{file}: {where or 'top level'}: {msg}{got}")
    return problems


def _import_checks(lab_dir: Path, lab_id: str) -> ModuleType:
    path = lab_dir / "checks.py"
    name = "tutor_lab_checks_" + lab_id.replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LabContentError([f"{path}: cannot be imported"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        line = ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                line = f" line {tb.tb_lineno}"
            tb = tb.tb_next
        raise LabContentError([f"{path}{line}: importing it failed: "
                               f"{type(exc).__name__}: {exc}"]) from None
    return module


def _collect(module: ModuleType) -> tuple[dict[str, CheckFn], dict[str, ScenarioFn]]:
    checks: dict[str, CheckFn] = {}
    scenarios: dict[str, ScenarioFn] = {}
    for value in vars(module).values():
        spec = getattr(value, "__tutor_check__", None)
        if isinstance(spec, CheckFn):
            checks[spec.name] = spec
        sc = getattr(value, "__tutor_scenario__", None)
        if isinstance(sc, ScenarioFn):
            scenarios[sc.name] = sc
    return checks, scenarios


def _bad_path(rel: str) -> str:
    """Why `rel` cannot name a file inside the lab folder ("" when it can)."""
    if not rel or "\x00" in rel or len(rel) > 255:
        return "is not a file path (empty, too long or with a NUL byte)"
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        return "must be a path inside the lab folder (relative, without `..`)"
    return ""


def _is(check: Callable[[Path], bool], path: Path) -> bool:
    try:
        return check(path)
    except (OSError, ValueError):  # e.g. a name longer than the filesystem allows
        return False


def _content_problems(lab: Lab) -> list[str]:
    """Cross-file problems pydantic cannot see: references to checks, files, tags."""
    spec, root = lab.spec, lab.path
    file = root / "lab.yaml"
    problems: list[str] = []
    if _LAB_DIR.match(root.name) and root.name != spec.id:
        problems.append(f"{file}: field `id`: `{spec.id}` differs from the folder name "
                        f"`{root.name}` — make them equal")
    if not lab.readme.is_file():
        problems.append(f"{lab.readme}: missing — every lab needs its narrative README.md")
    if not lab.starter.is_dir() or not any(lab.starter.rglob("*")):
        problems.append(f"{lab.starter}: missing or empty — add the learner's starter files")
    elif not any("TODO" in p.read_text(errors="replace")
                 for p in lab.starter.rglob("*") if p.is_file()):
        problems.append(f"{lab.starter}: no TODO marker — mark what the learner must do")
    if not lab.solution.is_dir():
        problems.append(f"{lab.solution}: missing — add the reference solution")
    for tag in spec.exam.pointers:
        if tag not in EXAM_TAGS:
            problems.append(f"{file}: field `exam.pointers`: unknown tag `{tag}` — "
                            f"{did_you_mean(tag, EXAM_TAGS) or 'see EXAM_TAGS in model.py'}")
    for domain in spec.exam.domains:
        if domain not in EXAM_DOMAINS:
            problems.append(f"{file}: field `exam.domains`: unknown domain `{domain}` — "
                            f"{did_you_mean(domain, EXAM_DOMAINS) or 'see EXAM_DOMAINS'}")
    for runtime in spec.requires:
        if runtime not in RUNTIMES:
            problems.append(f"{file}: field `requires`: unknown runtime `{runtime}` — "
                            f"{did_you_mean(runtime, RUNTIMES) or 'use python, node or kinesis'}")
    for role, rel in spec.programs.items():
        if _bad_path(rel):
            problems.append(f"{file}: field `programs.{role}`: `{rel:.60}` {_bad_path(rel)}")
        elif not _is(Path.is_file, lab.starter / rel):
            problems.append(f"{file}: field `programs.{role}`: `{rel}` is not in starter/ — "
                            "add it there or fix the path")
    for index, step in enumerate(spec.steps):
        where = f"{file}: step `{step.id}` (steps[{index}])"
        for c_index, ref in enumerate(step.checks):
            if ref.check not in lab.checks:
                hint = did_you_mean(ref.check, list(lab.checks))
                problems.append(
                    f"{where}, field `checks[{c_index}].check`: unknown check `{ref.check}` "
                    f"(not a @check function in checks.py, nor one of "
                    f"{', '.join(BUILTINS)}) — "
                    f"{hint or 'define it in checks.py with @check'}")
            elif ref.check in BUILTINS:
                problems += [f"{where}, field `checks[{c_index}]` ({ref.check}): {why}"
                             for why in builtin_problems(ref.check, ref.params,
                                                         set(spec.clock))]
        for s_index, name in enumerate(step.scenarios):
            if name not in lab.scenarios:
                hint = did_you_mean(name, list(lab.scenarios))
                problems.append(f"{where}, field `scenarios[{s_index}]`: unknown scenario "
                                f"`{name}` — {hint or 'define it in checks.py with @scenario'}")
        for tag in step.exam:
            if tag not in EXAM_TAGS:
                problems.append(f"{where}, field `exam`: unknown tag `{tag}` — "
                                f"{did_you_mean(tag, EXAM_TAGS) or 'see EXAM_TAGS'}")
        for runtime in step.requires:
            if runtime not in RUNTIMES:
                fix = did_you_mean(runtime, RUNTIMES) or "use python, node or kinesis"
                problems.append(f"{where}, field `requires`: unknown runtime `{runtime}` — "
                                f"{fix}")
        for rel in step.solution.files:
            if _bad_path(rel):
                problems.append(f"{where}, field `solution.files`: `{rel:.60}` "
                                f"{_bad_path(rel)}")
            elif not _is(Path.exists, lab.solution / rel):
                problems.append(f"{where}, field `solution.files`: `{rel}` is not in "
                                "solution/ — add the file or fix the path")
        for rel in step.solution.run:
            if _bad_path(rel):
                problems.append(f"{where}, field `solution.run`: `{rel:.60}` {_bad_path(rel)}")
            elif not (_is(Path.is_file, lab.solution / rel)
                      or _is(Path.is_file, lab.starter / rel)):
                problems.append(f"{where}, field `solution.run`: `{rel}` is in neither "
                                "solution/ nor starter/")
    for name in spec.faults:
        if name not in lab.scenarios:
            hint = did_you_mean(name, list(lab.scenarios))
            problems.append(f"{file}: field `faults.{name}`: unknown scenario `{name}` — "
                            f"{hint or 'faults are keyed by a @scenario function name'}")
    return problems


def load_lab(lab_dir: Path) -> Lab:
    """Read and validate one lab folder; raise LabContentError listing every problem."""
    lab_dir = lab_dir.resolve()
    file = lab_dir / "lab.yaml"
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabContentError([f"{file}: cannot be read ({exc.strerror or exc}) — every lab "
                               "folder needs a lab.yaml"]) from None
    except UnicodeDecodeError as exc:
        raise LabContentError([f"{file}: byte {exc.start} is not UTF-8 text — save the file "
                               "as UTF-8"]) from None
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LabContentError([f"{file}{at}: malformed YAML: {problem} — check the "
                               "indentation and quote text containing `: `"]) from None
    if not isinstance(raw, dict):
        raise LabContentError([f"{file}: expected a mapping of fields (id, title, steps...), "
                               f"found {type(raw).__name__}"])
    try:
        spec = LabSpec.model_validate(raw)
    except ValidationError as exc:
        raise LabContentError(_pydantic_problems(file, raw, exc)) from None
    module = _import_checks(lab_dir, spec.id)
    checks, scenarios = _collect(module)
    checks.update({name: builtin.check for name, builtin in BUILTINS.items()})
    lab = Lab(spec, lab_dir, checks, scenarios)
    problems = _content_problems(lab)
    if problems:
        raise LabContentError(problems)
    return lab


def lab_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "lab.yaml").exists()) \
        if root.is_dir() else []


def load_labs(root: Path | None = None) -> list[Lab]:
    """Every lab under `root` (default: the course's labs/), in learning order."""
    from tutor import locations

    root = root or locations.labs_dir()
    return [load_lab(path) for path in lab_dirs(root)]


def load_valid_labs(root: Path | None = None) -> tuple[list[Lab], list[str]]:
    """The labs that load, and the problems of those that do not (a UI shows both)."""
    from tutor import locations

    labs: list[Lab] = []
    problems: list[str] = []
    for path in lab_dirs(root or locations.labs_dir()):
        try:
            labs.append(load_lab(path))
        except LabContentError as exc:
            problems.extend(exc.problems)
    return labs, problems


def validate_labs(root: Path | None = None) -> list[str]:
    """Every content problem of every lab (empty when all are valid)."""
    from tutor import locations

    return load_valid_labs(root or locations.labs_dir())[1]


def get_lab(lab_id: str, root: Path | None = None) -> Lab:
    """A lab by id, by number (`4`, `04`) or by unambiguous slug part."""
    from tutor import locations

    root = root or locations.labs_dir()
    dirs = lab_dirs(root)
    names = [d.name for d in dirs]
    wanted = lab_id.strip()
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}"
    matches = [d for d in dirs if d.name == wanted] or \
        [d for d in dirs if d.name.startswith(wanted + "-")] or \
        [d for d in dirs if wanted in d.name]
    if len(matches) == 1:
        return load_lab(matches[0])
    if len(matches) > 1:
        raise TutorError(f"`{lab_id}` matches several labs: "
                         f"{', '.join(d.name for d in matches)}", "Ambiguous lab",
                         "give the full id")
    hint = did_you_mean(lab_id, names)
    raise TutorError(f"No lab `{lab_id}` in {root}", "Unknown lab",
                     hint or "`tutor labs` lists them")
