"""What a runtime process runs with: a clean environment, a directory of its own, an argv."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

# From the host only what any program needs to run; never credentials, tokens, profiles.
_HOST_BASICS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT")
DEFAULT_ACCOUNT = "000000000000"
# The tutor's measurement and fault-injection hook (a sitecustomize), read by path so this
# package stays free of engine imports. Set TUTOR_FAULTS_DIR on LocalStack to enable it.
HOOK_DIR = Path(__file__).resolve().parents[2] / "engine" / "labs" / "hook"
FAULTS_DIR_ENV = "TUTOR_FAULTS_DIR"
SUPPORTED_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")


def runtime_argv() -> list[str]:
    """The runtime runs on LocalStack's own interpreter (the tutor's venv): no other Python
    can be downloaded here, so every pythonX.Y function runs on this one."""
    return [sys.executable, "-u", "-m", "tutor.cloud.lambda_executor.runtime"]


def credentials(localstack_vars: Mapping[str, object]) -> dict[str, str]:
    """Keys that make the handler's own AWS calls act in the function's account.

    LocalStack would hand out the role's assumed-role keys; we use the function's account
    as access key id (LocalStack reads a 12-digit key as the account), so a function of
    learner A reaches A's queues whatever role ARN it was given. The default account keeps
    the classic `test` key.
    """
    account = str(localstack_vars.get("LOCALSTACK_FUNCTION_ACCOUNT_ID") or DEFAULT_ACCOUNT)
    if len(account) != 12 or not account.isdigit() or account == DEFAULT_ACCOUNT:
        account = "test"
    return {"AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "test"}


def build(localstack_vars: Mapping[str, object], *, code_dir: Path, workdir: Path,
          runtime: str, user_vars: Mapping[str, str] | None,
          host: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one runtime process, built from scratch.

    Order: host basics, then LocalStack's Lambda variables (function name, log group,
    endpoint...), then our adjustments for a process instead of a container, then the
    function's own variables last (as on AWS, they may override the non-reserved ones).
    """
    host = os.environ if host is None else host
    env = {name: host[name] for name in _HOST_BASICS if name in host}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env.update({key: str(value) for key, value in localstack_vars.items() if value is not None})
    tmp = workdir / "tmp"
    env.update(credentials(localstack_vars))
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("LOCALSTACK_CHMOD_PATHS", None)
    env.update({
        # No ~/.aws of the host: boto3 in the handler sees only these variables.
        "HOME": str(workdir),
        "TMPDIR": str(tmp),
        "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
        "PYTHONPATH": str(code_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
    })
    if "AWS_ENDPOINT_URL" not in env and "LOCALSTACK_HOSTNAME" in env:
        env["AWS_ENDPOINT_URL"] = f"http://{env['LOCALSTACK_HOSTNAME']}:{env.get('EDGE_PORT')}"
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    env.update(fault_hook(host, localstack_vars, code_dir))
    if user_vars:
        env.update({key: str(value) for key, value in user_vars.items()})
    return env


def function_dir(faults_dir: Path, account: str, function_name: str) -> Path:
    """Where the fault plan, counters and measurements of one function live."""
    return faults_dir / account / function_name


def fault_hook(host: Mapping[str, str], localstack_vars: Mapping[str, object],
               code_dir: Path) -> dict[str, str]:
    """The hook's variables for one function, when LocalStack runs with a faults dir: the
    tutor's checks can then make its handler's AWS calls fail and measure them."""
    base = host.get(FAULTS_DIR_ENV, "").strip()
    name = str(localstack_vars.get("AWS_LAMBDA_FUNCTION_NAME") or "")
    if not base or not name or not HOOK_DIR.is_dir():
        return {}
    account = str(localstack_vars.get("LOCALSTACK_FUNCTION_ACCOUNT_ID") or DEFAULT_ACCOUNT)
    where = function_dir(Path(base), account, name)
    (where / "state").mkdir(parents=True, exist_ok=True)
    return {
        "PYTHONPATH": os.pathsep.join((str(HOOK_DIR), str(code_dir))),
        "TUTOR_FAULTS_FILE": str(where / "plan.json"),
        "TUTOR_FAULTS_STATE": str(where / "state"),
        "TUTOR_FAULTS_RELOAD": "1",
        "TUTOR_MEASURE_FILE": str(where / "measure.jsonl"),
    }


def make_workdir(base: Path, function_name: str, env_id: str) -> Path:
    """`<LocalStack tmp>/tutor-lambda/<function>-<env id>/` with a private `tmp/` inside."""
    workdir = base / "tutor-lambda" / f"{function_name}-{env_id[:12]}"
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    return workdir
