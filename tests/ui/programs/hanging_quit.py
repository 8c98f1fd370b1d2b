"""The real `tutor`, except that its shutdown hangs: `q` must still end it (hard exit)."""

import sys
import time

import tutor.ui.quitting as quitting
from tutor.cli import main
from tutor.ui import app as app_module

quitting.QUIT_DEADLINE = float(sys.argv[1])
_unmount = app_module.TutorApp.on_unmount


def _stuck(self: app_module.TutorApp) -> None:
    _unmount(self)
    time.sleep(600)  # a shutdown step that never returns


app_module.TutorApp.on_unmount = _stuck  # type: ignore[method-assign]
sys.exit(main(sys.argv[2:]))
