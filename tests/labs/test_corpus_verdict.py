"""How a mistakes-corpus case is judged: which check must fail, and what it must say."""

from __future__ import annotations

from pathlib import Path

from tutor.engine.labs.corpus_case import _verdict
from tutor.engine.labs.corpus_spec import Case, CaseSpec
from tutor.engine.labs.results import CheckResult, StepReport


def _case(check: str | list[str]) -> Case:
    spec = CaseSpec.model_validate({"kind": "mistake", "step": "s", "title": "t",
                                    "expect": {"check": check, "words": ["UNIQUE"]}})
    return Case("c", Path("c"), spec)


def _report(**failing: str) -> StepReport:
    checks = [CheckResult(i, i, 1.0, 0.0 if i in failing else 1.0, i not in failing,
                          failing.get(i, "passed")) for i in ("rows", "drained", "rate")]
    return StepReport("s", "S", "failed", 0.0, 3.0, checks)


def test_one_check_must_fail_and_say_the_words() -> None:
    assert _verdict(_case("rows"), _report(rows="UNIQUE failed"))[0]
    ok, why = _verdict(_case("rows"), _report(drained="UNIQUE failed"))
    assert not ok and "check `rows` passed; the step failed elsewhere" in why


def test_a_list_is_met_by_whichever_of_its_checks_fails_with_the_words() -> None:
    either = _case(["rows", "drained"])
    assert _verdict(either, _report(rows="UNIQUE failed"))[0]
    assert _verdict(either, _report(drained="UNIQUE failed"))[0]
    ok, why = _verdict(either, _report(rate="UNIQUE failed"))
    assert not ok and "`rows` and `drained` passed" in why
    ok, why = _verdict(either, _report(drained="something else", rate="UNIQUE"))
    assert not ok and "does not say ['UNIQUE']" in why  # the words of the listed ones only


def test_a_wrong_verdict_shows_what_the_programs_printed() -> None:
    report = _report(rows="something else")
    report.checks[0].evidence = {"consumer_output": "starting\nTypeError: boom",
                                 "rows": 3}
    ok, why = _verdict(_case("rows"), report)
    assert not ok and "[consumer_output]" in why and "TypeError: boom" in why
    assert "rows" not in why.split("[consumer_output]")[1]  # only what programs printed
