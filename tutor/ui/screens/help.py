"""Keys of every screen, and where the learner's workspace is."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Help

Your lab files live in **`{workspace}`** — one folder per lab. Open it in your own
editor; the tutor copies the starter there when you start a lab and checks what you save.
Progress is kept in `{store}`.

## Everywhere
| Key | Does |
| :-- | :-- |
| `?` | this help |
| `q` | quit (LocalStack started by the tutor stops with it) |
| `escape` | back |
| `ctrl+r` | restart the tutor's own LocalStack once it was lost (progress, files kept) |
| `!` | report a problem with the question or lab step on screen, for your teacher |

## Home
| Key | Does |
| :-- | :-- |
| `enter` | open the lab, or choose a quiz on the bank |
| `l` / `b` | jump to the labs / the quiz banks |
| `v` | review the cards due now (spaced repetition) |
| `p` | progress: per lab, per exam pointer, past exams, what is due |
| `e` | set the exam date (reviews are planned to finish the day before) |
| `r` | re-read labs, banks and progress |
| `x` | resume the unfinished exam (its clock ran on while you were away) |

The bar at the bottom shows LocalStack: booting, ready (with its address; in your own
shell run `eval "$(tutor env)"` to point the AWS CLI and SDKs at it), or lost.

## Progress
| Key | Does |
| :-- | :-- |
| `1`-`4` | labs / exam pointers / exams / due cards |
| `v` | review the cards due now |

## Lab
| Key | Does |
| :-- | :-- |
| `s` | start: copy the starter into your workspace |
| `c` | check your work against LocalStack (results stream in per step) |
| `w` | watch: check again when you save a file (`c` always works too) |
| `h` | next hint for the selected step (hints are questions that lead) |
| `o` | solution: after the step passed, or after its last hint |
| `r` | reset: restore the starter and delete the lab's cloud resources |
| `v` / `m` | overview (diagram, goals, exam, lab clock) / README; escape: back to steps |
| `d` | live queue dashboard: depths, rates, oldest message, the lab's gauges (show/hide) |
| `p` / `u` / `k` | (dashboard shown) poison message / burst / stop a consumer, if the lab has it |
| `t` | with the dashboard shown: message timeline of the lab's queues |
| `e` | edit the workspace here: the step's file opens first |
| `x` | run the step's program (the one its text tells you to run) |
| `up` / `down` | select a step |

## Workspace (e)
| Key | Does |
| :-- | :-- |
| `ctrl+s` | save (a Python, JSON or YAML file that does not parse: the line is named) |
| `f8` / `f9` | run the step's program with the tutor's environment / stop it |
| `f5` | run the `awslocal` commands that show what the step's failed checks read |
| `ctrl+t` | jump to the next `TODO` |
| `ctrl+l` | your file against the starter (and the solution, once it is open) |
| `ctrl+f` / `ctrl+g` | find / go to line |
| `ctrl+z` / `ctrl+y` | undo / redo |
| `ctrl+o` | open the file in your own editor (`$VISUAL` or `$EDITOR`; in a terminal) |
| `escape` | back to the lab (asks first when there are unsaved changes) |

A file another editor saves is reloaded (you are asked first if you have unsaved edits).

## Quiz
| Key | Does |
| :-- | :-- |
| `1`-`6` or `a`-`f` | pick an option (toggles in "choose N" questions) |
| `enter` | submit the answer; then the next question |
| `s` | skip (practice) |

## Exam
| Key | Does |
| :-- | :-- |
| `n` / `p` | next / previous question |
| `f` | flag the question for review (pick option f with `6`) |
| `backspace` | clear the answer of this question |
| `g` | the navigator: arrows move, `enter` jumps to that question |
| `escape` | leave the exam (asks first; it is saved, `x` on the home screen resumes it) |
| `ctrl+s` | submit the exam (asks first, listing unanswered and flagged questions) |

Predict-then-observe questions run a small scenario against LocalStack after you
answer, and grade you on what really happened (in an exam they are graded on the
documented behaviour, without running).
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface;
        padding: 0 2;
    }
    """
    BINDINGS = [Binding("escape,question_mark", "close", "Close help")]

    def __init__(self, workspace: Path, store: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.store = store

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP.format(workspace=self.workspace, store=self.store))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
