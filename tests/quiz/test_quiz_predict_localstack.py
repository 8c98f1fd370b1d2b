"""Every predict-then-observe question, run for real against LocalStack.

The observed outcome must be the option the AWS documentation predicts (`correct: true`),
the evidence must show the calls, the scenario must stay within its time budget, and it
must leave no resources behind.
"""

from __future__ import annotations

import pytest

from tutor import locations
from tutor.cloud import clients
from tutor.cloud.endpoint import Endpoint
from tutor.engine.quiz.bank import read_banks
from tutor.engine.quiz.model import Question
from tutor.engine.quiz.observe import TIME_LIMIT
from tutor.engine.quiz.scenarios import run_scenario

# read_banks, not load_banks: a broken content file elsewhere must not stop these tests
# (test_all_shipped_banks_are_valid reports it)
PREDICT = [q for b in read_banks(locations.quizzes_dir())[0] for q in b.questions
           if q.type == "predict"]


def test_there_are_enough_predict_questions() -> None:
    assert len(PREDICT) >= 12


@pytest.mark.localstack
@pytest.mark.parametrize("question", PREDICT, ids=[q.id for q in PREDICT])
def test_observed_outcome_matches_the_documented_answer(localstack: Endpoint,
                                                        question: Question) -> None:
    observation = run_scenario(question, localstack)
    documented = next(o.outcome for o in question.options if o.correct)
    assert observation.outcome == documented, "\n".join(observation.evidence)
    assert observation.seconds < TIME_LIMIT
    assert len(observation.evidence) >= 3 and observation.evidence[-1].endswith(
        f"outcome: {observation.outcome}")
    assert observation.prefix.startswith("quiz-")
    sqs = clients.client("sqs", localstack)
    left = sqs.list_queues(QueueNamePrefix=observation.prefix).get("QueueUrls", [])
    assert left == []
    topics = clients.client("sns", localstack).list_topics()["Topics"]
    assert not [t for t in topics if observation.prefix in t["TopicArn"]]
