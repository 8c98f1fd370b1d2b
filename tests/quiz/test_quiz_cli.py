"""`tutor quiz` driven by a script through stdin/stdout with --json, as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.quiz.bank import load_banks

from .helpers import FIXTURES

GOOD = FIXTURES / "good"
RIGHT = {q.id: {o.text for o in q.options if o.correct}
         for b in load_banks(GOOD) for q in b.questions}


class Driver:
    """Runs `tutor ... quiz --json`, reads its events, answers like a learner would."""

    def __init__(self, *args: str, timeout: float = 90) -> None:
        env = os.environ | {"TUTOR_QUIZZES_DIR": str(GOOD), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tutor", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env,
                                     start_new_session=True)
        self._timer = threading.Timer(timeout, self.proc.kill)  # bounded, whatever happens
        self._timer.start()

    def event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"no more output; stderr: {self.stderr()}"
        return dict(json.loads(line))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=60)
        self._timer.cancel()
        return code

    def stderr(self) -> str:
        self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def answer_for(event: dict[str, Any], right: bool) -> str:
    good = RIGHT[event["id"]]
    letters = [o["letter"] for o in event["options"] if (o["text"] in good) == right]
    return ",".join(letters[: event["choose"]])


def test_practice_by_script(tutor_home: Path) -> None:
    quiz = Driver("quiz", "--bank", "good", "--count", "6", "--seed", "2", "--json")
    for index in range(6):
        question = quiz.event()
        assert question["event"] == "question" and question["index"] == index
        assert question["total"] == 6 and len(question["options"]) >= 3
        if index == 0:
            quiz.send("z")  # not an option: the CLI says so and asks again
            error = quiz.event()
            assert error["event"] == "error" and "not an answer" in error["message"]
        quiz.send(answer_for(question, right=index % 2 == 0))
        feedback = quiz.event()
        assert feedback["event"] == "feedback" and feedback["question"] == question["id"]
        assert feedback["correct"] == (index % 2 == 0)
        assert all(o["why"] for o in feedback["options"])
    assert quiz.event() == {"event": "summary", "mode": "practice", "answered": 6,
                            "correct": 3, "skipped": 0}
    assert quiz.close() == 0
    stats = subprocess.run([sys.executable, "-m", "tutor", "quiz", "stats", "--json"],
                           capture_output=True, text=True, timeout=60, check=True,
                           env=os.environ | {"TUTOR_QUIZZES_DIR": str(GOOD)})
    report = json.loads(stats.stdout)
    assert (report["answered"], report["correct"], report["cards"]) == (6, 3, 6)


def test_exam_by_script(tutor_home: Path) -> None:
    quiz = Driver("quiz", "--exam", "saa-c03", "--count", "5", "--seed", "1", "--json")
    # the fixture bank has one secure question where the weights ask for two
    assert quiz.event() == {"event": "shortfall",
                            "domains": {"saa-secure": {"wanted": 2, "got": 1}}}
    first = quiz.event()
    assert first["mode"] == "exam" and first["total"] == 5 and first["time_left"] == 600
    quiz.send(":flag")
    quiz.send(answer_for(first, right=False))
    shown = [first, quiz.event()]
    quiz.send(":back")
    again = quiz.event()
    assert again["id"] == first["id"] and again["flagged"] and again["selection"]
    quiz.send(answer_for(first, right=True))  # change the answer
    assert quiz.event()["id"] == shown[1]["id"]
    for _ in range(4):
        quiz.send(answer_for(shown[-1], right=len(shown) != 3))  # the third one wrong
        nxt = quiz.event()
        if nxt["event"] == "overview":
            break
        shown.append(nxt)
    assert nxt == {"event": "overview", "unanswered": [], "flagged": [1]}
    quiz.send(":submit")
    result = quiz.event()
    assert result["event"] == "result"
    assert (result["correct"], result["total"], result["scaled_score"]) == (4, 5, 800)
    assert result["passed"] and result["flagged"] == [first["id"]]
    assert [w["question"] for w in result["wrong"]] == [shown[2]["id"]]
    assert {d["domain"]: d["total"] for d in result["domains"]} == {
        "saa-secure": 1, "saa-resilient": 2, "saa-performance": 1, "saa-cost": 1}
    assert quiz.close() == 0


def test_exam_date_and_empty_review(tutor_home: Path) -> None:
    quiz = Driver("quiz", "--review", "--exam-date", "2030-01-15", "--json")
    assert quiz.event() == {"event": "exam_date", "date": "2030-01-15"}
    # never-seen questions join the review when an exam date is set
    assert quiz.event()["event"] == "question"
    assert quiz.close() == 0
    bad = subprocess.run([sys.executable, "-m", "tutor", "quiz", "--exam-date", "15/01/2030"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_list_shows_banks_topics_and_domains() -> None:
    listing = subprocess.run([sys.executable, "-m", "tutor", "quiz", "list", "--json"],
                             capture_output=True, text=True, timeout=60, check=True,
                             env=os.environ | {"TUTOR_QUIZZES_DIR": str(GOOD)})
    report = json.loads(listing.stdout)
    assert [(b["id"], b["questions"]) for b in report["banks"]] == [("good-predict", 1),
                                                                     ("good", 6)]
    assert report["topics"]["dlq"] == 2 and report["patterns"]["retry-dlq"] == 1
    assert report["domains"]["saa-resilient"] == 2


@pytest.mark.localstack
def test_predict_question_runs_the_scenario(localstack: Endpoint, tutor_home: Path) -> None:
    quiz = Driver("--endpoint", localstack.url, "quiz", "--bank", "good-predict", "--json")
    question = quiz.event()
    assert question["type"] == "predict"
    quiz.send(answer_for(question, right=True))
    feedback = quiz.event()
    assert feedback["correct"], feedback
    observation = feedback["observation"]
    assert observation["outcome"] == "visible=2,in_flight=1"
    assert any("ReceiveMessage" in line for line in observation["evidence"])
    assert quiz.event()["event"] == "summary"
    assert quiz.close() == 0
