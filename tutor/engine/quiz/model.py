"""The bank format (`format: 1`) as pydantic models; quizzes/SCHEMA.md documents it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tutor.engine.quiz.taxonomy import DOMAINS, PATTERNS, TAGS, suggest

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
LETTERS = "abcdef"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ParamValue = int | float | str | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    text: Text
    correct: bool
    why: Text
    # predict questions only: the outcome key a scenario reports when this option happens
    outcome: Text | None = None


class Scenario(_Strict):
    name: Text
    params: dict[str, ParamValue] = Field(default_factory=dict)


class Question(_Strict):
    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    type: Literal["single", "multiple", "predict"]
    prompt: Text
    choose: int | None = None
    options: Annotated[list[Option], Field(min_length=3, max_length=6)]
    tags: Annotated[list[str], Field(min_length=1)]
    patterns: list[str] = Field(default_factory=list)
    domain: str
    difficulty: Literal[1, 2, 3]
    docs: Text
    scenario: Scenario | None = None

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, tags: list[str]) -> list[str]:
        return _known(tags, TAGS, "tag")

    @field_validator("patterns")
    @classmethod
    def _known_patterns(cls, patterns: list[str]) -> list[str]:
        return _known(patterns, PATTERNS, "pattern")

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, domain: str) -> str:
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain '{domain}'{suggest(domain, list(DOMAINS))}")
        return domain

    @model_validator(mode="after")
    def _right_number_correct(self) -> Question:
        correct = sum(o.correct for o in self.options)
        if self.type == "multiple":
            if self.choose is None or self.choose < 2:
                raise ValueError("[choose] a multiple question needs `choose: N` with N >= 2")
            if correct != self.choose:
                raise ValueError(f"[options] `choose: {self.choose}` but {correct} options are "
                                 "marked correct: true")
        else:
            if self.choose is not None:
                raise ValueError(f"[choose] `choose` is only for type multiple, not {self.type}")
            if correct != 1:
                raise ValueError(f"[options] a {self.type} question needs exactly one option with "
                                 f"correct: true, found {correct}")
        if self.type == "predict":
            if self.scenario is None:
                raise ValueError("[scenario] a predict question needs `scenario: {name, params}`")
            outcomes = [o.outcome for o in self.options]
            if any(o is None for o in outcomes):
                raise ValueError("[options] every option of a predict question needs `outcome`")
            if len(set(outcomes)) != len(outcomes):
                raise ValueError("[options] the options of a predict question need "
                                 "distinct outcomes")
        else:
            if self.scenario is not None:
                raise ValueError("[scenario] `scenario` is only for type predict")
            if any(o.outcome is not None for o in self.options):
                raise ValueError("[options] `outcome` on an option is only for type predict")
        return self

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    @property
    def correct_letters(self) -> frozenset[str]:
        return frozenset(LETTERS[i] for i, o in enumerate(self.options) if o.correct)

    @property
    def picks(self) -> int:
        """How many options the learner must pick."""
        return self.choose or 1


class Bank(_Strict):
    format: Literal[1]
    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    title: Text
    description: Text
    questions: Annotated[list[Question], Field(min_length=1)]
    path: Path | None = Field(default=None, exclude=True)  # set by the loader, not in YAML


def _known(values: list[str], known: tuple[str, ...], what: str) -> list[str]:
    bad = [v for v in values if v not in known]
    if bad:
        raise ValueError("; ".join(f"unknown {what} '{v}'{suggest(v, known)}" for v in bad))
    if len(set(values)) != len(values):
        raise ValueError(f"a {what} is listed twice")
    return values


def slug_ok(value: str) -> bool:
    return re.match(ID_PATTERN, value) is not None
