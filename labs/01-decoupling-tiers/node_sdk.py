"""Make the AWS SDK for JavaScript v3 importable from the learner's node/ folder, bounded."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

NPM_TIMEOUT = 45.0  # seconds for an on-demand `npm ci` of the Node consumer's SDK


def ensure_sdk(workspace: Path, lab_dir: Path) -> str:
    """'' when node/ can import @aws-sdk/client-sqs, else why not (the step is skipped)."""
    node_dir = workspace / "node"
    target = node_dir / "node_modules"
    if (target / "@aws-sdk" / "client-sqs").is_dir():
        return ""
    if not (node_dir / "package-lock.json").is_file():
        return "node/package-lock.json is missing from your workspace (tutor lab reset 01)"
    shipped = lab_dir / "starter" / "node" / "node_modules"
    if (shipped / "@aws-sdk" / "client-sqs").is_dir() and not target.exists():
        target.symlink_to(shipped, target_is_directory=True)  # installed by `make install`
        return ""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so the AWS SDK for JavaScript cannot be installed"
    proc = subprocess.Popen([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                            cwd=node_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "npm_config_update_notifier": "false"})
    try:
        out, _ = proc.communicate(timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=5)
        return (f"`npm ci` in node/ did not finish within {NPM_TIMEOUT:g} s (is the npm "
                "registry reachable?)")
    if proc.returncode != 0 or not (target / "@aws-sdk" / "client-sqs").is_dir():
        lines = out.decode(errors="replace").strip().splitlines()
        first = next((line for line in lines if "error" in line.lower()), lines[-1] if lines
                     else "no output")
        return f"`npm ci` in node/ failed (is the npm registry reachable?): {first[:160]}"
    return ""
