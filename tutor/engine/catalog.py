"""What is on disk: labs and quiz banks, read just enough to list them (never raises)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tutor.engine.content_yaml import parse_yaml


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    path: Path
    summary: str = ""  # pattern of a lab, question count of a bank
    problem: str = ""  # why it could not be read, if it could not


def _read(path: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        # The same bounded parser as the loaders: a hostile file must not hang the home screen.
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"{path.name}: {first}"
    if not isinstance(data, dict):
        return None, f"{path.name}: expected a mapping at the top level"
    return data, ""


def labs(directory: Path) -> list[Entry]:
    found = []
    for folder in sorted(p for p in directory.glob("[0-9][0-9]-*") if p.is_dir()):
        data, problem = _read(folder / "lab.yaml")
        if data is None:
            found.append(Entry(folder.name, folder.name, folder, problem=problem))
            continue
        found.append(Entry(str(data.get("id", folder.name)), str(data.get("title", folder.name)),
                           folder, summary=str(data.get("pattern", ""))))
    return found


def banks(directory: Path) -> list[Entry]:
    found = []
    for path in sorted(directory.glob("*.yaml")):
        data, problem = _read(path)
        if data is None:
            found.append(Entry(path.stem, path.stem, path, problem=problem))
            continue
        questions = data.get("questions") or []
        count = len(questions) if isinstance(questions, list) else 0
        found.append(Entry(str(data.get("id", path.stem)), str(data.get("title", path.stem)),
                           path, summary=f"{count} questions"))
    return found
