"""Question text as Textual Content: `code` spans from the banks shown in the accent colour."""

from __future__ import annotations

from textual.content import Content


def inline(text: str) -> Content:
    parts = text.split("`")
    pieces: list[str | tuple[str, str]] = []
    for index, part in enumerate(parts):
        if not part:
            continue
        # odd pieces sat between backticks; an unmatched trailing backtick stays plain
        code = index % 2 == 1 and index < len(parts) - 1
        pieces.append((part, "bold $text-accent") if code else part)
    return Content.assemble(*pieces)
