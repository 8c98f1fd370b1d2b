"""The executor is a plux plugin beside LocalStack's Docker one, and the runtime's pieces work."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutor.cloud.lambda_executor import environ
from tutor.cloud.lambda_executor.runtime import InitError, load_handler

HANDLERS = Path(__file__).parent / "handlers"


def test_both_executors_are_registered_and_docker_still_loads():
    code = textwrap.dedent("""
        import sys
        from localstack.services.lambda_.invocation.runtime_executor import (
            EXECUTOR_PLUGIN_MANAGER)
        assert EXECUTOR_PLUGIN_MANAGER.exists("tutor") and EXECUTOR_PLUGIN_MANAGER.exists("docker")
        docker = EXECUTOR_PLUGIN_MANAGER.load("docker").load()
        assert docker.__name__ == "DockerRuntimeExecutor"
        # Listing and loading Docker's never imports our executor or patches LocalStack.
        assert "tutor.cloud.lambda_executor.executor" not in sys.modules
        tutor = EXECUTOR_PLUGIN_MANAGER.load("tutor").load()
        assert tutor.__name__ == "TutorRuntimeExecutor"
    """)
    # As LocalStack runs: without the test's fake AWS profile (importing LocalStack's
    # Docker executor builds a boto3 session, which would look that profile up).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_environment_is_built_from_scratch():
    host = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": "/home/learner",
            "AWS_PROFILE": "prod", "GITHUB_TOKEN": "ghp_x", "AWS_SESSION_TOKEN": "host"}
    localstack_vars = {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "LSIAQ",
                       "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
                       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 256,
                       "AWS_ENDPOINT_URL": "http://127.0.0.1:4599"}
    env = environ.build(localstack_vars, code_dir=Path("/code"), workdir=Path("/w"),
                        runtime="python3.11", user_vars={"MODE": "lab"}, host=host)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/w" and env["TMPDIR"] == "/w/tmp"
    assert "AWS_PROFILE" not in env and "GITHUB_TOKEN" not in env
    assert "AWS_SESSION_TOKEN" not in env
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["LAMBDA_TASK_ROOT"] == "/code" and env["MODE"] == "lab"


@pytest.mark.parametrize(("spec", "error_type"), [
    ("nohandlerdot", "Runtime.MalformedHandlerName"),
    ("sys.exit", "Runtime.BuiltInModuleConflict"),
    ("basic.missing", "Runtime.HandlerNotFound"),
    ("does_not_exist.handler", "Runtime.ImportModuleError"),
])
def test_handler_resolution_errors_use_lambda_error_types(spec, error_type, monkeypatch):
    monkeypatch.syspath_prepend(str(HANDLERS))
    with pytest.raises(InitError) as caught:
        load_handler(spec)
    assert caught.value.error_type == error_type


def test_poller_count_follows_maximum_concurrency_within_the_cap() -> None:
    from tutor.cloud.lambda_executor.esm_scaling import DEFAULT_POLLERS, MAX_POLLERS, pollers_for

    assert pollers_for({}, is_fifo=False) == DEFAULT_POLLERS  # AWS starts with five
    assert pollers_for({"ScalingConfig": {"MaximumConcurrency": 2}}, is_fifo=False) == 2
    assert pollers_for({"ScalingConfig": {"MaximumConcurrency": 1000}}, is_fifo=False) \
        == MAX_POLLERS
    assert pollers_for({"ScalingConfig": {"MaximumConcurrency": 3}}, is_fifo=True) == 1
