"""Editing the workspace from inside the tutor: which files, saving them safely, a syntax
check that names the line, and diffs against the starter and the reference solution."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path

from tutor.engine.labs.loader import Lab
from tutor.engine.labs.model import Step
from tutor.engine.labs.workspace import IGNORED
from tutor.errors import TutorError
from tutor.sandbox import SERVED_ENV  # re-exported: tabs and tests read it here

MAX_EDIT_BYTES = 2 * 1024 * 1024  # a lab file is a few KiB; a bigger one is not source
LANGUAGES = {".py": "python", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
             ".js": "javascript", ".cjs": "javascript", ".mjs": "javascript",
             ".sh": "bash", ".sql": "sql", ".md": "markdown", ".toml": "toml"}


def editing_refused() -> str:
    """Why this process may not edit and run learner code ("" when it may).

    A tab of `tutor serve --public` runs as the server's user for anyone with the address:
    there learner programs run in a sandbox (`tutor/sandbox`), and without one editing and
    running are refused, never silently allowed unconfined. A loopback tab is the
    learner's own machine and user, as their terminal is."""
    from tutor import sandbox

    if os.environ.get(SERVED_ENV) == "public" and sandbox.problem():
        return (f"editing and running code in a public `tutor serve` tab needs a sandbox, "
                f"and {sandbox.problem()}")
    return ""


def inside(workspace: Path, path: Path) -> bool:
    """`path` resolves to a place inside `workspace` (a symlink that leads out does not)."""
    try:
        path.resolve().relative_to(workspace.resolve())
    except ValueError:
        return False
    return True


def shipped(lab: Lab) -> set[str]:
    """The dotfiles the starter ships (the only hidden files the tree shows)."""
    if not lab.starter.is_dir():
        return set()
    return {str(p.relative_to(lab.starter)) for p in lab.starter.rglob(".*")}


def visible(workspace: Path, path: Path, allowed_dotfiles: set[str]) -> bool:
    """Whether the workspace tree shows `path`: inside the workspace, not generated
    (node_modules, __pycache__), and no dotfile the starter did not ship."""
    if not inside(workspace, path):
        return False
    rel = path.relative_to(workspace) if path.is_absolute() else path
    parts = rel.parts
    if IGNORED.intersection(parts):
        return False
    return not any(p.startswith(".") for p in parts) or str(rel) in allowed_dotfiles


def open_text(workspace: Path, rel: str) -> tuple[Path, str]:
    """A workspace file's path and text; a TutorError for a path outside the workspace,
    a folder, a binary or a file too big to edit."""
    path = workspace / rel
    if not inside(workspace, path):
        raise TutorError(f"{rel} is outside your workspace", "Not in the workspace",
                         f"the editor opens files under {workspace}")
    if not path.is_file():
        raise TutorError(f"{rel} does not exist in your workspace", "No such file",
                         "start the lab first (s), or pick a file in the tree")
    if path.stat().st_size > MAX_EDIT_BYTES:
        raise TutorError(f"{rel} is larger than {MAX_EDIT_BYTES // 2**20} MiB",
                         "Too big to edit", "open it in your own editor")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise TutorError(f"{rel} is a binary file", "Not text", "pick a source file")
    return path, data.decode("utf-8", errors="replace")


def save(path: Path, text: str) -> None:
    """Write `text` atomically: a temporary file beside it, then a rename (a crash leaves
    the old file or the new one, never half of one); the file's mode is kept."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def syntax_problem(name: str, text: str) -> str | None:
    """"line 12: ..." for a Python, JSON or YAML file that does not parse, else None."""
    suffix = Path(name).suffix
    if suffix == ".py":
        try:
            compile(text, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"line {exc.lineno}: {exc.msg}"
        except ValueError as exc:  # e.g. a NUL byte
            return str(exc)
    elif suffix == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            return f"line {exc.lineno}: {exc.msg}"
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            list(yaml.safe_load_all(text))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = f"line {mark.line + 1}: " if mark is not None else ""
            return f"{line}{exc.problem or exc}"
        except yaml.YAMLError as exc:
            return str(exc)
    return None


def next_todo(text: str, after_line: int) -> int | None:
    """The 0-based line of the next `TODO` after `after_line` (wrapping), or None."""
    lines = text.splitlines()
    order = list(range(after_line + 1, len(lines))) + list(range(0, after_line + 1))
    return next((i for i in order if "TODO" in lines[i]), None)


def step_file(lab: Lab, step: Step) -> str | None:
    """The file a step works on: the first its solution writes, else the lab's first
    program."""
    if step.solution.files:
        return step.solution.files[0]
    return next(iter(lab.spec.programs.values()), None)


def step_program(step: Step) -> str | None:
    """The program a step tells the learner to run (its solution runs it too)."""
    return step.solution.run[0] if step.solution.run else None


def diff(lab: Lab, rel: str, text: str, against: str) -> str:
    """A unified diff of `text` against the starter's or the solution's copy of `rel`."""
    base = lab.starter if against == "starter" else lab.path / "solution"
    other = base / rel
    theirs = other.read_text(encoding="utf-8", errors="replace") if other.is_file() else ""
    lines = difflib.unified_diff(theirs.splitlines(keepends=True),
                                 text.splitlines(keepends=True),
                                 fromfile=f"{against}/{rel}", tofile=f"workspace/{rel}")
    return "".join(lines) or f"(no difference from the {against})\n"
