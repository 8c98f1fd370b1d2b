"""What `tutor` imports before its first frame.

Home paints before it has read a lab or touched LocalStack, so nothing that only a
worker needs may be imported on the way: each of these costs tens of milliseconds of
first paint (pydantic alone about 150 ms), and `bench/bench_foundation.py` measures
first paint against a bare Textual app. A module-level import added anywhere on the
path (the CLI, the app, the home screen, the widgets it composes) fails here, by name.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Read by workers after the first frame: the catalog (yaml, pydantic), the clients
# (boto3, botocore), the health probe (urllib, http.client), reviews (fsrs), the
# embedded LocalStack.
AFTER_FIRST_FRAME = ("pydantic", "yaml", "boto3", "botocore", "urllib.request",
                     "http.client", "fsrs", "localstack", "localstack_client")

# The steps of `tutor` with no command up to `app.run()`, then the home screen's compose.
PROGRAM = """
import json, sys, tempfile
from pathlib import Path

import tutor.cli
from tutor.commands import app as command
from tutor.engine.progress import open_store
from tutor.ui.app import make_app
from tutor.ui.screens.home import HomeScreen

home = Path(tempfile.mkdtemp())
open_store(home / "progress.db").close()
app = make_app(labs_dir=home, quizzes_dir=home, connect=False,
               store_path=home / "progress.db")
print(json.dumps(sorted(name for name in sys.modules)))
"""


def imported_before_first_frame() -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(done.stdout))


def test_the_app_imports_nothing_a_worker_needs_before_its_first_frame() -> None:
    loaded = imported_before_first_frame()
    assert "textual" in loaded and "tutor.ui.screens.home" in loaded  # the probe ran
    early = sorted(name for name in AFTER_FIRST_FRAME if name in loaded)
    assert early == [], (f"imported before the first frame: {', '.join(early)} — import "
                         "it inside the worker that needs it")
