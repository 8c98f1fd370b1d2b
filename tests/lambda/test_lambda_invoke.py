"""Functions really run on the tutor's executor: results, context, environment, errors, logs."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tutor.cloud import clients
from tutor.cloud.lambda_executor import environ

from .helpers import HANDLERS, gone, handler_zip, invoke, source_zip, unique, wait_for

pytestmark = pytest.mark.localstack


def test_sync_invoke_returns_result_and_reuses_the_warm_environment(lam, make_function):
    name = make_function(handler_zip("basic.py"))
    reply, first = invoke(lam, name, {"hello": "world"})
    assert reply["StatusCode"] == 200
    assert "FunctionError" not in reply
    _, second = invoke(lam, name)
    # Module-level state survives: same process, counter carried over.
    assert (first["count"], second["count"]) == (1, 2)
    assert first["pid"] == second["pid"]


@pytest.mark.parametrize("handler", ["pkg/sub/mod.handler", "pkg.sub.mod.handler"])
def test_nested_package_handlers_resolve(lam, make_function, handler):
    name = make_function(handler_zip("pkg"), handler)
    reply, body = invoke(lam, name)
    assert "FunctionError" not in reply, body
    assert body == {"module": "pkg.sub.mod", "package": "pkg.sub"}


def test_directory_code_runs_without_a_zip(lam, make_function, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(HANDLERS / "pkg", code / "pkg")
    name = make_function({"S3Bucket": "hot-reload", "S3Key": str(code)}, "pkg.sub.mod.handler")
    reply, body = invoke(lam, name)
    assert "FunctionError" not in reply, body
    assert body["module"] == "pkg.sub.mod"


def test_directory_code_is_hot_reloaded(lam, make_function, tmp_path):
    code = tmp_path / "live"
    code.mkdir()
    (code / "live.py").write_text("def handler(event, context):\n    return 'v1'\n")
    name = make_function({"S3Bucket": "hot-reload", "S3Key": str(code)}, "live.handler")
    assert invoke(lam, name)[1] == "v1"
    (code / "live.py").write_text("def handler(event, context):\n    return 'v2'\n")
    wait_for(lambda: invoke(lam, name)[1] == "v2", 15, "the edited handler to run", every=0.5)


def test_updated_code_runs_in_a_new_environment(lam, make_function):
    source = "import os\ndef handler(e, c):\n    return ['{}', os.getpid()]\n"
    name = make_function(source_zip("up.py", source.format("old")), "up.handler")
    version, old_pid = invoke(lam, name)[1]
    assert version == "old"
    lam.update_function_code(FunctionName=name, ZipFile=source_zip("up.py", source.format("new")))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke(lam, name)[1][0] == "new"
    # The old version's environment is retired with it.
    wait_for(lambda: gone(old_pid), 10, "the old version's runtime to stop")


@pytest.mark.parametrize("runtime", environ.SUPPORTED_RUNTIMES)
def test_every_supported_python_runtime_runs(lam, make_function, runtime):
    name = make_function(handler_zip("basic.py"), runtime=runtime)
    reply, body = invoke(lam, name)
    assert "FunctionError" not in reply, body
    assert body["environ"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"


def test_async_invoke_runs_the_handler(lam, make_function, tmp_path):
    name = make_function(handler_zip("basic.py"))
    pid_file = tmp_path / "pid"
    reply = lam.invoke(FunctionName=name, InvocationType="Event",
                       Payload=json.dumps({"pid_file": str(pid_file)}))
    assert reply["StatusCode"] == 202
    pid = wait_for(lambda: pid_file.exists() and pid_file.read_text(), 15, "the async invoke")
    assert int(pid) > 0


def test_context_and_environment(lam, make_function, localstack):
    name = make_function(handler_zip("basic.py"), env={"GREETING": "hi", "LEVEL": "3"},
                         MemorySize=256)
    _, body = invoke(lam, name)
    ctx, env = body["context"], body["environ"]
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert len(ctx["aws_request_id"]) == 36
    assert ctx["function_name"] == name
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == arn
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as in AWS's Python runtime
    assert ctx["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in ctx["log_stream_name"]
    assert 4000 < ctx["remaining"] <= 5000  # Timeout=5
    # The function's own variables, and the standard ones pointing at this LocalStack.
    assert (env["GREETING"], env["LEVEL"]) == ("hi", "3")
    assert env["AWS_ENDPOINT_URL"] == localstack.url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == localstack.region
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "basic.handler"
    assert Path(env["LAMBDA_TASK_ROOT"], "basic.py").is_file()
    # Nothing of the host leaks in: not the "real" keys conftest set, no profile, no
    # tutor variables, not the user's home.
    assert "AWS_PROFILE" not in env
    assert "AWS_SESSION_TOKEN" not in env
    assert os.environ["AWS_ACCESS_KEY_ID"] not in env.values()
    assert not [key for key in env if key.startswith("TUTOR_")]
    assert env["HOME"] != os.path.expanduser("~")
    # A working directory of its own, under LocalStack's tmp dir, not the code's.
    assert body["cwd"] == env["HOME"]
    assert Path(env["TMPDIR"]).parent == Path(body["cwd"])
    assert Path(body["cwd"]) != Path(env["LAMBDA_TASK_ROOT"])


def test_handler_can_call_localstack_with_boto3(lam, make_function, localstack):
    """The AWS_* variables are enough for plain boto3 in a handler to reach LocalStack."""
    code = source_zip(
        "calls.py",
        "import boto3\n"
        "def handler(event, context):\n"
        "    sqs = boto3.client('sqs')\n"
        "    return sqs.get_queue_url(QueueName=event['queue'])['QueueUrl']\n")
    sqs = clients.client("sqs", localstack)
    queue = unique("from-lambda")
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    try:
        name = make_function(code, "calls.handler", timeout=20)
        reply, body = invoke(lam, name, {"queue": queue})
        assert "FunctionError" not in reply, body
        assert body.endswith(queue)
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_unhandled_exception_in_lambda_error_format(lam, make_function):
    name = make_function(handler_zip("basic.py"))
    reply, body = invoke(lam, name, {"fail": "the order is invalid"}, LogType="Tail")
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "the order is invalid"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]
    assert "basic.py" in body["stackTrace"][-1] and "in handler" in body["stackTrace"][-1]
    assert "runtime.py" not in "".join(body["stackTrace"])
    log = base64.b64decode(reply["LogResult"]).decode()
    assert "[ERROR] ValueError: the order is invalid" in log


def test_handler_exiting_the_process_is_a_runtime_exit_error(lam, make_function):
    name = make_function(handler_zip("basic.py"))
    _, first = invoke(lam, name)
    reply, body = invoke(lam, name, {"exit": 3})
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in body["errorMessage"]
    _, after = invoke(lam, name)
    assert after["pid"] != first["pid"] and after["count"] == 1


def test_missing_module_is_an_import_error(lam, make_function):
    name = make_function(handler_zip("basic.py"), "nowhere.handler")
    reply, body = invoke(lam, name)
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'nowhere'" in body["errorMessage"]


def test_timeout_kills_the_process_and_reports_it(lam, make_function, tmp_path):
    name = make_function(handler_zip("basic.py"), timeout=1)
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    reply, body = invoke(lam, name, {"sleep": 30, "pid_file": str(pid_file)}, LogType="Tail")
    assert time.monotonic() - started < 10
    assert reply["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    log = base64.b64decode(reply["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log
    assert "event" in log  # what it printed before the kill is kept
    pid = int(pid_file.read_text())
    wait_for(lambda: not psutil.pid_exists(pid), 5, f"timed-out runtime {pid} to be gone")
    # The next invoke gets a fresh runtime (module state reset, as AWS re-inits).
    reply, body = invoke(lam, name)
    assert "FunctionError" not in reply, body
    assert body["count"] == 1 and body["pid"] != pid


def test_stdout_and_stderr_reach_cloudwatch_logs(lam, make_function, localstack):
    name = make_function(handler_zip("basic.py"))
    marker = unique("marker")
    invoke(lam, name, {"marker": marker})
    logs = clients.client("logs", localstack)

    def messages() -> list[str]:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        text = [event["message"] for event in events]
        return text if any(marker in line for line in text) else []

    found: list[Any] = wait_for(messages, 20, "the invocation's logs in CloudWatch")
    joined = "".join(found)
    assert "START RequestId:" in joined and "REPORT RequestId:" in joined
    assert "to stderr" in joined and "init of basic" in joined
    logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")


def test_non_python_runtime_is_refused_with_a_clear_reason(lam, make_function):
    code = source_zip("index.js", "exports.handler = async () => 1;\n")
    name = make_function(code, "index.handler", runtime="nodejs20.x")
    conf = lam.get_function_configuration(FunctionName=name)
    assert conf["State"] == "Failed"
    assert "nodejs20.x" in conf["StateReason"] and "python3.13" in conf["StateReason"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.invoke(FunctionName=name, Payload=b"{}")
    # LocalStack 4.14 alone cannot delete a Failed function (InternalError); compat.py fixes it.
    lam.delete_function(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)
