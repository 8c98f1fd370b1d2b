"""`tutor quiz` (practice, review, exam) and `tutor quiz stats`, in a plain terminal.

Answers come from stdin, one line each (`a`, or `a,c` for a multiple-answer question), so
a script can drive it; with `--json` every question, feedback and result is one JSON
object per line on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from tutor.commands import quiz_info

EXAM_HELP = ("in an exam, a line is an answer (`a` or `a,c`, then the next question) or a "
             "command: `:next`, `:back`, `:goto N`, `:flag`, `:submit`, `:quit` (saved; "
             "`--resume` goes on); end of input submits")


def register(sub: Any) -> None:
    quiz = sub.add_parser(
        "quiz", help="practise exam questions, review due cards, or sit a timed exam",
        description="Quizzes on the SQS exam pointers. Answer with a letter (`a`) or "
        "letters (`a,c`); `:skip` and `:quit` work too. " + EXAM_HELP + ".")
    quiz.add_argument("--bank", metavar="B", help="only this question bank (its id)")
    quiz.add_argument("--topic", metavar="TAG", help="only questions with this tag")
    quiz.add_argument("--pattern", metavar="P", help="only questions on this pattern")
    quiz.add_argument("--exam", choices=["saa-c03", "dva-c02"],
                      help="a timed exam drawn to the exam's domain weights")
    quiz.add_argument("--review", action="store_true", help="the spaced-repetition cards due")
    quiz.add_argument("--resume", action="store_true",
                      help="go on with the last unfinished exam, with the time it has left")
    quiz.add_argument("--mistakes", action="store_true",
                      help="questions answered wrong, most recent first, until answered right")
    quiz.add_argument("--flagged", action="store_true", help="questions flagged in exams")
    quiz.add_argument("--count", type=int, metavar="N",
                      help="how many questions (practice 10, review 20, exam 65)")
    quiz.add_argument("--minutes", type=float, help="exam time (default 2 min a question)")
    quiz.add_argument("--seed", type=int, metavar="S", help="make the draw repeatable")
    quiz.add_argument("--json", action="store_true", help="JSON lines on stdout, for scripts")
    quiz.add_argument("--exam-date", metavar="YYYY-MM-DD",
                      help="schedule reviews so every card comes up before this date "
                      "('none' clears it)")
    quiz.set_defaults(handler=_quiz)
    actions = quiz.add_subparsers(dest="quiz_action", metavar="ACTION")
    stats = actions.add_parser("stats", help="answers, accuracy per domain and tag, due cards")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=quiz_info.stats)
    listing = actions.add_parser("list", help="banks, topics and patterns, with counts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=quiz_info.listing)
    exporting = actions.add_parser(
        "export", help="your weak spots (missed questions, lab-failure cards) for Anki or CSV",
        description="Write the questions whose latest answer is wrong, and the review cards "
        "that failed lab checks made due, with every option's explanation on the back.")
    exporting.add_argument("--anki", metavar="FILE.apkg", help="an Anki deck (import it in Anki)")
    exporting.add_argument("--csv", metavar="FILE.csv", help="one row per question")
    exporting.set_defaults(handler=quiz_info.export)


class _Io:
    """Where questions go and answers come from; JSON lines or human text."""

    def __init__(self, as_json: bool) -> None:
        self.json = as_json

    def emit(self, event: str, **data: Any) -> None:
        if self.json:
            print(json.dumps({"event": event} | data, default=str), flush=True)

    def say(self, text: str = "") -> None:
        if not self.json:
            print(text, flush=True)

    def ask(self, prompt: str) -> str | None:
        if not self.json:
            print(prompt, end="", flush=True)
        line = sys.stdin.readline()
        return None if line == "" else line.strip()


def _banks() -> list[Any]:
    return quiz_info.load()


def _quiz(args: argparse.Namespace) -> int:
    from tutor.engine.progress import open_store
    from tutor.engine.quiz import sessions
    from tutor.engine.quiz.srs import Schedule, parse_exam_date

    io = _Io(args.json)
    store = open_store()
    if store.warning:
        print(f"warning: {store.warning}", file=sys.stderr)
    if args.exam_date:
        exam_day = None if args.exam_date == "none" else parse_exam_date(args.exam_date)
        Schedule(store).set_exam_date(exam_day)
        io.say(f"Exam date set to {exam_day}." if exam_day else "Exam date cleared.")
        io.emit("exam_date", date=exam_day.isoformat() if exam_day else None)
    banks = _banks()
    if args.resume:
        resumed = sessions.ExamSession.resume(banks, store)
        if resumed is None:
            io.say("No unfinished exam to resume. Start one with `tutor quiz --exam saa-c03`.")
            io.emit("resume", found=False)
            return 0
        io.emit("resume", found=True, id=resumed.session_id, dropped=resumed.dropped)
        if resumed.result is not None:
            io.say("The exam's time ran out while the tutor was closed: it is scored as "
                   "submitted.")
            io.emit("result", **resumed.result.to_dict())
            _show_result(io, resumed.result)
            return 0
        if resumed.dropped:
            io.say(f"{resumed.dropped} question(s) of this exam are no longer in the banks; "
                   "it goes on without them.")
        return _run_exam(resumed, io, resumed=True)
    if args.mistakes or args.flagged:
        retake = sessions.PracticeSession.retake(
            banks, store, which="mistakes" if args.mistakes else "flagged",
            count=args.count or 10)
        return _run_practice(retake, io, args)
    if args.exam:
        session = sessions.ExamSession.start(banks, store, exam=args.exam, count=args.count,
                                             seed=args.seed, minutes=args.minutes)
        return _run_exam(session, io)
    if args.review:
        review = sessions.ReviewSession.due(banks, store, limit=args.count or 20,
                                            seed=args.seed)
        if not review.items:
            io.say("Nothing is due for review. Practise with `tutor quiz` to build cards.")
            io.emit("summary", mode="review", answered=0, correct=0, skipped=0, due=0)
            return 0
        return _run_practice(review, io, args)
    practice = sessions.PracticeSession.select(
        banks, store, bank=args.bank, topic=args.topic, pattern=args.pattern,
        count=args.count or 10, seed=args.seed)
    return _run_practice(practice, io, args)


def _show(io: _Io, mode: str, index: int, total: int, bank: str, shown: Any,
          extra: dict[str, Any] | None = None) -> None:
    from tutor.engine.quiz.taxonomy import DOMAINS

    q = shown.question
    io.emit("question", mode=mode, index=index, total=total, id=q.id, bank=bank,
            type=q.type, prompt=q.prompt, choose=q.picks, tags=q.tags, domain=q.domain,
            difficulty=q.difficulty,
            options=[{"letter": chr(97 + i), "text": o.text} for i, o in enumerate(q.options)],
            **(extra or {}))
    domain = DOMAINS[q.domain]
    kind = {"single": "choose one", "multiple": f"choose {q.picks}",
            "predict": "predict the outcome" if mode == "exam"
            else "predict, then we run it"}[q.type]
    io.say(f"\n── Question {index + 1}/{total} · {q.id} · {kind} · {domain.exam} "
           f"{domain.name} · difficulty {q.difficulty}")
    io.say(q.prompt.rstrip())
    for i, option in enumerate(q.options):
        io.say(textwrap.fill(option.text, width=96, initial_indent=f"  {chr(97 + i)}) ",
                             subsequent_indent="     "))


def _show_feedback(io: _Io, fb: Any) -> None:
    io.emit("feedback", **fb.to_dict())
    if fb.observation is not None:
        io.say("What LocalStack did:")
        for line in fb.observation.evidence:
            io.say(f"  {line}")
    io.say(("✔ Right" if fb.correct else f"✘ Not quite: the answer is {', '.join(fb.expected)}")
           + (f" (next review {fb.due:%Y-%m-%d %H:%M} UTC)" if fb.due else ""))
    for o in fb.options:
        mark = "✔" if o.correct else "✘"
        chosen = " ← you" if o.chosen else ""
        io.say(textwrap.fill(f"{o.text}: {o.why}{chosen}", width=96,
                             initial_indent=f"  {mark} {o.letter}) ", subsequent_indent="       "))
    if fb.discrepancy:
        io.say(f"  note: {fb.discrepancy}")
    io.say(f"  AWS documentation: {fb.docs}")


def _run_practice(session: Any, io: _Io, args: argparse.Namespace) -> int:
    from tutor.engine.quiz.scenarios import run_scenario
    from tutor.errors import TutorError

    endpoint = None
    while not session.done:
        shown, bank = session.current, session.current_bank
        index, total = session.position
        _show(io, session.mode, index, total, bank.id, shown)
        while True:
            line = io.ask("Your prediction: " if shown.question.type == "predict"
                          else "Answer: ")
            if line is None or line == ":quit":
                return _practice_summary(session, io)
            if line == ":skip":
                session.skip()
                break
            try:
                observation = None
                if shown.question.type == "predict":
                    from tutor.engine.quiz.scoring import parse_answer

                    parse_answer(line, shown.question)  # reject a bad prediction before running
                    if endpoint is None:
                        from tutor.commands.connect import connect

                        endpoint = connect(args, quiet=args.json)
                    io.say("Running the scenario against LocalStack...")
                    observation = run_scenario(shown.question, endpoint)
                fb = session.answer(line, observation=observation)
            except TutorError as exc:
                if exc.title != "Invalid answer":
                    raise
                io.emit("error", message=exc.one_line())
                io.say(f"  {exc.one_line()}")
                continue
            _show_feedback(io, fb)
            session.next()
            break
    return _practice_summary(session, io)


def _practice_summary(session: Any, io: _Io) -> int:
    summary = session.summary()
    io.emit("summary", mode=session.mode, **summary)
    io.say(f"\n{summary['correct']}/{summary['answered']} right"
           + (f", {summary['skipped']} skipped" if summary["skipped"] else "")
           + ". `tutor quiz --review` serves what is due; `tutor quiz stats` shows progress.")
    return 0


def _run_exam(exam: Any, io: _Io, resumed: bool = False) -> int:
    from tutor.errors import TutorError

    if resumed:
        io.say(f"Resuming the {exam.exam.code} practice exam: {exam.total - len(exam.unanswered)}"
               f" of {exam.total} answered, {exam.time_left() / 60:.0f} minutes left.")
    else:
        io.say(f"{exam.exam.name} ({exam.exam.code}) practice exam: {exam.total} questions, "
               f"{exam.minutes:g} minutes. Pass mark 720 of 1000. Every answer is saved: "
               "`tutor quiz --resume` goes on after a quit.")
    io.say(EXAM_HELP + ".")
    if exam.shortfall:
        from tutor.engine.quiz.taxonomy import DOMAINS

        short = "; ".join(f"{DOMAINS[d].name}: {got} of {want}"
                          for d, (want, got) in exam.shortfall.items())
        io.say(f"Note: the banks are short of questions in some domains ({short}); "
               "the other domains make up the count.")
        io.emit("shortfall", domains={d: {"wanted": w, "got": g}
                                      for d, (w, g) in exam.shortfall.items()})
    show = True
    for _ in range(50 * exam.total + 100):  # bounded: each line read is one iteration
        if exam.expired:
            io.say("Time is up.")
            break
        if show:
            extra = {"flagged": exam.index in exam.flagged,
                     "selection": sorted(exam.selection()),
                     "time_left": round(exam.time_left())}
            _show(io, "exam", exam.index, exam.total, exam.items[exam.index][0].id,
                  exam.current, extra)
            chosen = exam.selection()
            io.say(f"  [{'flagged' if exam.index in exam.flagged else 'not flagged'}; "
                   f"answer {','.join(sorted(chosen)) or 'none'}; "
                   f"{exam.time_left() / 60:.0f} min left]")
        show = True
        line = io.ask("Answer or command: ")
        if line == ":quit":
            io.say("Saved. `tutor quiz --resume` goes on with the time left (the clock runs"
                   " on, as in the real exam).")
            io.emit("paused", id=exam.session_id, time_left=round(exam.time_left()))
            return 0
        if line is None or line == ":submit":
            break
        try:
            if line == ":flag":
                io.say("Flagged for review." if exam.flag() else "Flag removed.")
                show = False
            elif line == ":back":
                exam.previous()
            elif line.startswith(":goto"):
                exam.goto(int(line.split()[1]) - 1 if line.split()[1:] else -1)
            elif line in {":next", ""}:
                if exam.next() is None:
                    _exam_overview(exam, io)
                    show = False
            else:
                exam.answer(line)
                if exam.next() is None:
                    _exam_overview(exam, io)
                    show = False
        except (TutorError, ValueError) as exc:
            message = exc.one_line() if isinstance(exc, TutorError) else f"bad command: {line}"
            io.emit("error", message=message)
            io.say(f"  {message}")
            show = False
    result = exam.submit()
    io.emit("result", **result.to_dict())
    _show_result(io, result)
    return 0


def _exam_overview(exam: Any, io: _Io) -> None:
    io.emit("overview", unanswered=[i + 1 for i in exam.unanswered],
            flagged=[i + 1 for i in exam.flagged])
    io.say(f"\nEnd of the exam. Unanswered: {[i + 1 for i in exam.unanswered] or 'none'}; "
           f"flagged: {[i + 1 for i in exam.flagged] or 'none'}. "
           "Type `:goto N` to revisit a question or `:submit` to finish.")


def _show_result(io: _Io, result: Any) -> None:
    io.say(f"\nScore {result.scaled}/1000 ({result.correct}/{result.total} right): "
           + ("PASS" if result.passed else "not yet a pass") + " (pass mark 720)")
    for d in result.domains:
        io.say(f"  {d.name:<42} {d.correct:>3}/{d.total:<3} {d.percent:5.1f} %")
    if result.wrong:
        io.say("\nReview of the questions you missed:")
    for fb in result.wrong:
        io.say(f"\n· {fb.question_id}: you chose {', '.join(fb.chosen) or 'nothing'}, "
               f"the answer is {', '.join(fb.expected)}")
        for o in fb.options:
            io.say(textwrap.fill(f"{o.text}: {o.why}", width=96,
                                 initial_indent=f"  {'✔' if o.correct else '✘'} {o.letter}) ",
                                 subsequent_indent="       "))
        io.say(f"  AWS documentation: {fb.docs}")
