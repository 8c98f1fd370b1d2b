"""Fuzzing lab.yaml and quiz banks: every malformed file is a content error naming the file.

Hypothesis starts from the course's real files and breaks them: keys dropped, values of the
wrong type, huge and exotic strings, deep nesting, unknown and duplicate keys, alias bombs
("billion laughs"), tabs, binary bytes, invalid UTF-8, truncation. Loading must either
succeed or raise the loader's content error (a TutorError) naming the file, and the field
when the file is valid YAML; never another exception, and never slowly.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutor.engine.labs.loader import LabContentError, load_lab
from tutor.engine.quiz.bank import load_banks
from tutor.errors import TutorError

ROOT = Path(__file__).resolve().parents[2]
LAB_DIRS = sorted(p.parent for p in (ROOT / "labs").glob("*/lab.yaml"))
BANKS = sorted((ROOT / "quizzes").glob("*.yaml"))
EXAMPLES = int(os.environ.get("TUTOR_FUZZ_EXAMPLES", "2000"))
# Seconds for one load: far below what an unbounded parse of a hostile file takes (minutes,
# gigabytes), far above what one takes beside the whole suite on two cores (2.0 s seen).
TIME_LIMIT = 10.0
# Derandomized: the same inputs on every run (CI stays stable). TUTOR_FUZZ_RANDOM=1 explores
# new ones (what a developer runs now and then, with TUTOR_FUZZ_EXAMPLES=20000).
FUZZ = settings(max_examples=EXAMPLES, derandomize=not os.environ.get("TUTOR_FUZZ_RANDOM"),
                deadline=None, database=None, suppress_health_check=list(HealthCheck))

tried: dict[str, int] = {"lab": 0, "bank": 0}

BOMB = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*here, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*here, index)))
    return found


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


WRONG = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=200),
    st.integers(min_value=10_000, max_value=300_000).map(lambda n: "x" * n),
    st.lists(st.integers(), max_size=5), st.dictionaries(st.text(max_size=8), st.integers(),
                                                         max_size=4),
    st.integers(min_value=20, max_value=400).map(_deep),
)


def _structural(data: st.DataObject, tree: Any) -> Any:
    """A copy of the parsed file with one structural change: still valid YAML."""
    tree = copy.deepcopy(tree)
    paths = [p for p in _paths(tree) if p]
    path = data.draw(st.sampled_from(paths), label="path")
    parent = _parent(tree, path)
    action = data.draw(st.sampled_from(["drop", "wrong", "unknown", "empty"]), label="action")
    if action == "drop":
        del parent[path[-1]]
    elif action == "wrong":
        parent[path[-1]] = data.draw(WRONG, label="value")
    elif action == "unknown" and isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=20), label="key")] = "surprise"
    else:
        parent[path[-1]] = data.draw(st.sampled_from([[], {}, "", 0]), label="empty")
    return tree


def _textual(data: st.DataObject, text: str) -> bytes:
    """The file's bytes broken below the structure: YAML, UTF-8 or both become invalid."""
    raw = text.encode()
    at = data.draw(st.integers(0, len(raw)), label="at")
    action = data.draw(st.sampled_from(
        ["tab", "binary", "invalid-utf8", "truncate", "bomb", "duplicate", "nul", "cycle",
         "unicode", "indent"]), label="text-action")
    if action == "tab":
        return raw[:at] + b"\t" + raw[at:]
    if action == "binary":
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=64), label="bytes") + raw[at:]
    if action == "invalid-utf8":
        return raw[:at] + b"\xff\xfe\xc3\x28" + raw[at:]
    if action == "truncate":
        return raw[:at]
    if action == "bomb":
        return BOMB.encode() + (raw if data.draw(st.booleans(), label="keep") else b"")
    if action == "duplicate":  # a top-level key written twice
        first = next(line for line in text.splitlines() if line and line[0].isalpha())
        return raw + b"\n" + first.encode() + b"\n"
    if action == "nul":
        return raw[:at] + b"\x00" + raw[at:]
    if action == "cycle":
        return raw + b"\nloop: &loop [*loop]\n"
    if action == "unicode":
        chars = data.draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=1,
                                  max_size=30), label="chars")
        return raw[:at] + chars.encode() + raw[at:]
    lines = text.splitlines(keepends=True)  # "indent": one line shifted
    index = data.draw(st.integers(0, max(0, len(lines) - 1)), label="line")
    lines[index:index + 1] = [" " * data.draw(st.integers(1, 5), label="spaces") +
                              (lines[index] if lines else "")]
    return "".join(lines).encode()


def _mutate(data: st.DataObject, text: str, tree: Any) -> tuple[bytes, bool]:
    """(the mutated file, whether it is still valid YAML)."""
    if data.draw(st.booleans(), label="structural"):
        dumped = yaml.dump(_structural(data, tree), Dumper=yaml.CSafeDumper,
                           allow_unicode=True, sort_keys=False)
        return dumped.encode(), True
    return _textual(data, text), False


def _timed(load: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    try:
        load()
        error = None
    except Exception as exc:
        error = exc
    return error, time.monotonic() - start


@pytest.fixture(scope="module")
def lab_copies(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str, Any]]:
    root = tmp_path_factory.mktemp("labs")
    copies = []
    for lab_dir in LAB_DIRS:
        target = root / lab_dir.name  # the lab's folder with links, but its own lab.yaml
        target.mkdir()
        for entry in lab_dir.iterdir():
            if entry.name not in ("lab.yaml", "__pycache__"):
                (target / entry.name).symlink_to(entry)
        text = (lab_dir / "lab.yaml").read_text(encoding="utf-8")
        copies.append((target, text, yaml.safe_load(text)))
    return copies


@pytest.fixture(scope="module")
def bank_sources() -> list[tuple[str, str, Any]]:
    """Each bank with its first 4 questions (every question kind occurs; 10x faster)."""
    sources = []
    for path in BANKS:
        tree = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        tree["questions"] = tree["questions"][:4]
        text = yaml.dump(tree, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
        sources.append((path.name, text, tree))
    return sources


def test_fuzzed_lab_files_raise_only_content_errors(
        lab_copies: list[tuple[Path, str, Any]]) -> None:
    @FUZZ
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        target, text, tree = data.draw(st.sampled_from(lab_copies), label="lab")
        broken, valid_yaml = _mutate(data, text, tree)
        (target / "lab.yaml").write_bytes(broken)
        tried["lab"] += 1
        error, took = _timed(lambda: load_lab(target))
        assert took < TIME_LIMIT, f"loading took {took:.1f} s"
        if error is None:
            return
        assert isinstance(error, LabContentError), f"{type(error).__name__}: {error}"
        assert error.problems and all(str(target) in p for p in error.problems), error.problems
        if valid_yaml and "lab.yaml:" in error.problems[0] and \
                "malformed YAML" not in error.problems[0]:
            first = error.problems[0]
            # a field: `steps[2].checks[0].check`, a step by position, or a `key:` it names
            named = ("field `", "(steps[", ":`", "expected a mapping")
            assert any(mark in first for mark in named), first

    try:
        one()
    finally:
        for target, text, _tree in lab_copies:
            (target / "lab.yaml").write_text(text, encoding="utf-8")
    print(f"\n{tried['lab']} fuzzed lab.yaml files loaded")
    assert tried["lab"] >= EXAMPLES


def test_fuzzed_question_banks_raise_only_tutor_errors(
        tmp_path_factory: pytest.TempPathFactory,
        bank_sources: list[tuple[str, str, Any]]) -> None:
    folder = tmp_path_factory.mktemp("fuzz") / "quizzes"
    folder.mkdir()

    @FUZZ
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        name, text, tree = data.draw(st.sampled_from(bank_sources), label="bank")
        broken, valid_yaml = _mutate(data, text, tree)
        for old in folder.iterdir():
            old.unlink()
        (folder / name).write_bytes(broken)
        tried["bank"] += 1
        error, took = _timed(lambda: load_banks(folder))
        assert took < TIME_LIMIT, f"loading took {took:.1f} s"
        if error is None:
            return
        assert isinstance(error, TutorError), f"{type(error).__name__}: {error}"
        assert error.message.startswith(f"quizzes/{name}: "), error.message
        if valid_yaml:
            assert "field " in error.message, error.message

    one()
    print(f"\n{tried['bank']} fuzzed question banks loaded")
    assert tried["bank"] >= EXAMPLES
