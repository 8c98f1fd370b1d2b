"""Question text for the screen: `code` spans in the accent colour, YAML line breaks reflowed."""

from __future__ import annotations

import re

from textual.content import Content

# A line that starts a list item or is indented keeps its own line when reflowing.
_KEEP = re.compile(r"^(\s{2,}|[-*] |\d+[.)] )")


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


def reflow(text: str) -> str:
    """Join the hard line breaks of a YAML block into flowing paragraphs, so that the
    terminal wraps them at its own width; blank lines, lists and indented lines stay."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        out = lines[:1]
        for line in lines[1:]:
            if _KEEP.match(line) or _KEEP.match(out[-1]):
                out.append(line)
            else:
                out[-1] = out[-1].rstrip() + " " + line.strip()
        paragraphs.append("\n".join(out))
    return "\n\n".join(paragraphs)
