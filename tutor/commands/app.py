"""`tutor` with no command: the terminal app."""

from __future__ import annotations

import argparse


def run_app(args: argparse.Namespace) -> int:
    from tutor import locations
    from tutor.engine.progress import open_store
    from tutor.ui.app import make_app

    store = open_store()  # a corrupt file is moved aside here, and the app says so
    warning = store.warning
    store.close()
    app = make_app(endpoint=args.endpoint, startup_warning=warning)
    app.hard_exit_log = locations.crash_log()  # `q` always ends the tutor
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0
