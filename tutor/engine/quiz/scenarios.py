"""The predict-then-observe scenarios: small real experiments with seconds-scale timings.

Each function takes a `Run` and keyword-only parameters (the `params:` of the question),
makes real calls against LocalStack through it, and returns an outcome key; the options
of a predict question carry these keys in `outcome:`. Keep each one under 15 s.
The functions live in `sqs_scenarios` and `stream_scenarios`; this module checks a
question's scenario against them and runs it.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

# The scenario modules register their functions in SCENARIOS when imported.
from tutor.engine.quiz import sqs_scenarios, stream_scenarios  # noqa: F401
from tutor.engine.quiz.observe import Observation, Run
from tutor.engine.quiz.scenario_registry import SCENARIOS, ScenarioFn, scenario
from tutor.engine.quiz.taxonomy import suggest
from tutor.errors import TutorError, from_boto

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.quiz.model import Question

# The names callers import from here, wherever they are defined.
__all__ = ["SCENARIOS", "ScenarioFn", "check_scenario", "run_scenario", "scenario"]


def check_scenario(question: Question) -> list[tuple[str, str]]:
    """(field, problem) pairs for a predict question's scenario name and params."""
    spec = question.scenario
    if spec is None:
        return []
    fn = SCENARIOS.get(spec.name)
    if fn is None:
        return [("scenario.name", f"unknown scenario '{spec.name}'"
                 f"{suggest(spec.name, list(SCENARIOS))}")]
    accepted = {n: p for n, p in inspect.signature(fn).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    problems = []
    for name, value in spec.params.items():
        if name not in accepted:
            problems.append((f"scenario.params.{name}", f"'{spec.name}' takes no parameter "
                             f"'{name}' (it takes: {', '.join(accepted) or 'none'})"))
            continue
        kind = type(accepted[name].default)
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            problems.append((f"scenario.params.{name}", f"expected {kind.__name__}, found "
                             f"{value!r}"))
    return problems


def run_scenario(question: Question, endpoint: Endpoint) -> Observation:
    """Run the scenario of a predict question for real and report what happened."""
    from botocore.exceptions import BotoCoreError, ClientError

    if question.scenario is None:
        raise TutorError(f"question {question.id} has no scenario to run", "Not a predict "
                         "question", "only predict questions can be observed")
    spec = question.scenario
    fn = SCENARIOS[spec.name]
    run = Run(endpoint)
    try:
        outcome = fn(run, **spec.params)
        run.log(f"outcome: {outcome}")
    except (ClientError, BotoCoreError) as exc:
        raise from_boto(exc, endpoint.url) from exc
    finally:
        run.cleanup()
    return Observation(spec.name, outcome, run.evidence, run.elapsed(), run.prefix)
