"""`tutor quiz stats`, `list` and `export`: what the banks hold and what the learner did."""

from __future__ import annotations

import argparse
import json
from typing import Any


def load() -> list[Any]:
    from tutor import locations
    from tutor.engine.quiz.bank import load_banks

    return load_banks(locations.quizzes_dir())


def stats(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from tutor.engine.progress import open_store
    from tutor.engine.quiz.stats import quiz_stats

    report = quiz_stats(open_store(), load())
    if args.json:
        print(json.dumps(report))
        return 0
    accuracy = f"{report['accuracy']} %" if report["accuracy"] is not None else "-"
    print(f"{report['answered']} answers ({report['seen']} of {report['questions']} "
          f"questions seen), accuracy {accuracy}")
    nxt = report["next_due"]
    print(f"Review cards: {report['cards']}, due now: {report['due_now']}"
          + (f", next due {datetime.fromtimestamp(nxt, UTC):%Y-%m-%d %H:%M} UTC" if nxt else ""))
    if report["exam_date"]:
        print(f"Exam date: {report['exam_date']}")
    for title, key in (("By domain", "by_domain"), ("By topic", "by_tag")):
        if report[key]:
            print(f"\n{title}:")
            for row in report[key]:
                print(f"  {row['name']:<52} {row['correct']:>4}/{row['answered']:<4} "
                      f"{row['accuracy']:5.1f} %")
    for exam in report["exams"]:
        if exam["scaled_score"] is not None:
            when = datetime.fromtimestamp(exam["started_at"], UTC)
            print(f"Exam {exam['exam']} on {when:%Y-%m-%d}: {exam['scaled_score']} "
                  + ("pass" if exam["passed"] else "fail"))
    return 0


def listing(args: argparse.Namespace) -> int:
    from collections import Counter

    from tutor.engine.quiz.audit import MOCKS, mock_needs
    from tutor.engine.quiz.taxonomy import DOMAINS, EXAMS, PATTERNS, TAGS

    banks = load()
    needs = {d: n for exam in EXAMS for d, n in mock_needs(exam).items()}
    questions = [q for b in banks for q in b.questions]
    tags = Counter(t for q in questions for t in q.tags)
    patterns = Counter(p for q in questions for p in q.patterns)
    domains = Counter(q.domain for q in questions)
    report: dict[str, Any] = {
        "banks": [{"id": b.id, "title": b.title, "questions": len(b.questions)}
                  for b in banks],
        "topics": {t: tags[t] for t in dict.fromkeys(TAGS)},
        "patterns": {p: patterns[p] for p in PATTERNS},
        "domains": {d: domains[d] for d in DOMAINS},
        "mock_needs": needs,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print("Banks (--bank):")
    for b in report["banks"]:
        print(f"  {b['id']:<28} {b['questions']:>3}  {b['title']}")
    print("\nTopics (--topic): " + ", ".join(f"{t} ({n})" for t, n in report["topics"].items()))
    print("\nPatterns (--pattern): "
          + ", ".join(f"{p} ({n})" for p, n in report["patterns"].items()))
    print(f"\nExam domains (--exam), against what {MOCKS} full mocks with no repeat need:")
    for d, n in report["domains"].items():
        need = needs.get(d, 0)
        mark = "" if n >= need else f"  short by {need - n}"
        print(f"  {DOMAINS[d].exam} {DOMAINS[d].name:<40} {n:>3} questions "
              f"(need {need}){mark}")
    return 0


def export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tutor.engine.progress import open_store
    from tutor.engine.quiz.export import export

    count, written = export(load(), open_store(),
                            anki=Path(args.anki).expanduser() if args.anki else None,
                            csv_path=Path(args.csv).expanduser() if args.csv else None)
    for path in written:
        print(f"wrote {path} ({count} question(s))")
    return 0
