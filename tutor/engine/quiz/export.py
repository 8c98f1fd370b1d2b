"""The learner's weak spots, taken away: missed questions and the review cards that lab
failures made due, as an Anki deck (genanki) or CSV, each with its explanation."""

from __future__ import annotations

import csv
import html
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import LETTERS, Bank, Question
from tutor.engine.quiz.sessions import mistakes
from tutor.errors import TutorError

# Fixed ids: a deck exported again updates the notes imported before instead of adding
# copies (Anki matches models and decks by id, notes by guid).
ANKI_MODEL_ID = 1_790_412_331
ANKI_DECK_ID = 1_790_412_332
CSV_COLUMNS = ("id", "why_here", "bank", "domain", "tags", "prompt", "options", "answer",
               "explanation", "docs")


@dataclass(frozen=True)
class WeakSpot:
    bank: Bank
    question: Question
    why: str  # "answered wrong" or "a lab check on its pointers failed"


def weak_spots(banks: list[Bank], store: ProgressStore,
               now: float | None = None) -> list[WeakSpot]:
    """Questions whose latest answer was wrong (most recent first), then never-answered
    questions whose review card is due because a lab check on their pointers failed."""
    now = time.time() if now is None else now
    spots = [WeakSpot(b, q, "answered wrong") for b, q in mistakes(banks, store)]
    answered = {a["question_id"] for a in store.answers()}
    held = {q.id: (b, q) for b in banks for q in b.questions}
    for qid, (_card, due) in sorted(store.cards().items(), key=lambda c: c[1][1]):
        if qid in held and qid not in answered and due <= now:
            spots.append(WeakSpot(*held[qid], "a lab check on its pointers failed"))
    return spots


def _answer(q: Question) -> str:
    return ", ".join(f"{LETTERS[i]}) {o.text}" for i, o in enumerate(q.options) if o.correct)


def write_csv(spots: list[WeakSpot], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for s in spots:
            q = s.question
            writer.writerow([
                q.id, s.why, s.bank.id, q.domain, " ".join(q.tags), q.prompt.strip(),
                "\n".join(f"{LETTERS[i]}) {o.text}" for i, o in enumerate(q.options)),
                _answer(q),
                "\n".join(f"{LETTERS[i]}) {'right' if o.correct else 'wrong'}: {o.why}"
                          for i, o in enumerate(q.options)), q.docs])
    return path


def write_anki(spots: list[WeakSpot], path: Path, deck: str = "SQS tutor: weak spots") -> Path:
    import genanki

    model = genanki.Model(
        ANKI_MODEL_ID, "SQS tutor question",
        fields=[{"name": "Id"}, {"name": "Question"}, {"name": "Options"},
                {"name": "Answer"}, {"name": "Explanation"}, {"name": "Docs"}],
        templates=[{"name": "Card 1",
                    "qfmt": "<div class=q>{{Question}}</div><ol type=a>{{Options}}</ol>",
                    "afmt": "{{FrontSide}}<hr id=answer><div class=a>{{Answer}}</div>"
                            "<ul>{{Explanation}}</ul><div class=docs>{{Docs}}</div>"}],
        css=".card{font-family:sans-serif;text-align:left}.a{font-weight:bold}"
            ".docs{color:#666;font-size:small}")
    target = genanki.Deck(ANKI_DECK_ID, deck)
    for s in spots:
        q = s.question
        target.add_note(genanki.Note(
            model=model, guid=genanki.guid_for("sqs-tutor", q.id),
            tags=[t.replace(" ", "_") for t in (*q.tags, q.domain, s.bank.id)],
            fields=[html.escape(q.id),
                    html.escape(q.prompt.strip()).replace("\n", "<br>"),
                    "".join(f"<li>{html.escape(o.text)}</li>" for o in q.options),
                    html.escape(_answer(q)),
                    "".join(f"<li><b>{'right' if o.correct else 'wrong'}</b>: "
                            f"{html.escape(o.text)} — {html.escape(o.why)}</li>"
                            for o in q.options),
                    html.escape(f"AWS documentation: {q.docs}")]))
    path.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(target).write_to_file(str(path))
    return path


def export(banks: list[Bank], store: ProgressStore, *, anki: Path | None = None,
           csv_path: Path | None = None) -> tuple[int, list[Path]]:
    if anki is None and csv_path is None:
        raise TutorError("say where to export", "No export target",
                         "give --anki FILE.apkg and/or --csv FILE.csv")
    spots = weak_spots(banks, store)
    if not spots:
        raise TutorError("you have no weak spots to export: no question's latest answer is "
                         "wrong and no lab failure made a card due", "Nothing to export",
                         "practise (`tutor quiz`) or run labs first")
    written = []
    if anki is not None:
        written.append(write_anki(spots, anki))
    if csv_path is not None:
        written.append(write_csv(spots, csv_path))
    return len(spots), written
