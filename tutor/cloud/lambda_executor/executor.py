"""LocalStack's `RuntimeExecutor` for Python handlers run as local processes (no Docker).

Selected by `LAMBDA_RUNTIME_EXECUTOR=tutor` (set by `tutor.cloud.embedded`) through the
plux namespace `localstack.lambda.runtime_executor`. One executor is one execution
environment: one runtime process (`runtime.py`) on its own loopback port. LocalStack
decides when environments start, are reused, run in parallel and retire; we start and
kill processes when told, enforce the function timeout, and assemble the invocation's
log (START/END/REPORT around what the handler printed) as LocalStack's init does.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import CancelledError, Future
from datetime import UTC, datetime
from pathlib import Path

import requests
from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.http import Response
from localstack.services.lambda_.invocation.executor_endpoint import (
    ExecutorEndpoint,
    InvokeSendError,
    ShutdownDuringStartup,
    StatusErrorException,
)
from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    InvocationResult,
)
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)
from werkzeug import Request

from tutor.cloud.lambda_executor import confine, environ
from tutor.cloud.lambda_executor.process import EnvironmentProcess

LOG = logging.getLogger(__name__)
MARK_WAIT = 2.0  # seconds to wait for the last output of an invocation after its result
STARTUP_TIMEOUT = float(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)


class UnsupportedRuntime(LambdaRuntimeException):
    pass


class _Endpoint(ExecutorEndpoint):
    """LocalStack's callback endpoint; the runtime reports its port in the ready call."""

    def status_ready(self, request: Request, executor_id: str) -> Response:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            self.container_port = int(json.loads(request.data or b"{}")["port"])
        return super().status_ready(request, executor_id)


def _loopback() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _exit_error(request_id: str, code: int) -> bytes:
    status = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
    return json.dumps({"errorType": "Runtime.ExitError",
                       "errorMessage": f"RequestId: {request_id} Error: Runtime exited "
                                       f"with error: {status}"}).encode()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name.removeprefix("SIG").lower()
    except ValueError:
        return str(number)


def code_stamp(root: Path) -> tuple[int, int]:
    """(newest mtime, file count) of a code directory: changes when a file is edited,
    added or removed. Bounded to keep invokes cheap on a big directory."""
    newest, count = 0, 0
    stack = [root]
    while stack and count < 20_000:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name == "__pycache__":
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime_ns)
                count += 1
    return newest, count


class TutorRuntimeExecutor(RuntimeExecutor):
    """One execution environment = one local runtime process."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        # The runtime listens on loopback whatever address LocalStack's gateway uses.
        self.endpoint = _Endpoint(self.id, container_address="127.0.0.1", container_port=0)
        self.process: EnvironmentProcess | None = None
        self.env_vars: dict[str, str] = {}
        self.workdir: Path | None = None
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies from the host for loopback calls
        self._invoke_lock = threading.Lock()
        self._request_id: str | None = None
        self._init_ms: float | None = None
        self._stopped = False
        self._generation = 0  # which runtime process the callbacks of `_on_exit` are about
        self._code_stamp: tuple[int, int] | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self, env_vars: dict[str, str]) -> None:
        config_ = self.function_version.config
        if config_.code is None:
            raise LambdaRuntimeException("Function has no code to run")
        self.workdir = environ.make_workdir(Path(tempfile.gettempdir()),
                                            self.function_version.id.function_name, self.id)
        self.env_vars = environ.build(
            env_vars, code_dir=Path(config_.code.get_unzipped_code_location()),
            workdir=self.workdir, runtime=str(config_.runtime),
            user_vars=config_.environment)
        self._boot()

    def _boot(self) -> None:
        """Start the runtime process and wait for its ready (or init error) callback."""
        assert self.workdir is not None
        self.endpoint.start()  # a fresh startup future, registered under our id
        self.endpoint.container_port = 0
        mark = uuid.uuid4().hex
        if self._hot_reloading:
            self._code_stamp = code_stamp(self._code_dir)
        env = dict(self.env_vars, _TUTOR_LOG_MARK=mark, _TUTOR_PARENT_PID=str(os.getpid()))
        future = self.endpoint.startup_future
        assert future is not None
        self._generation += 1
        on_exit = functools.partial(self._on_exit, self._generation, future)
        jail = None
        if confine.wanted():  # learner code: in the sandbox when this machine has one
            jail, env = confine.confinement(env, self.workdir, self._code_dir,
                                            (_loopback(), config.GATEWAY_LISTEN[0].port))
        started = time.monotonic()
        self.process = EnvironmentProcess(environ.runtime_argv(), env, self.workdir, mark,
                                          on_exit=on_exit, jail=jail)
        LOG.debug("Environment %s of %s: runtime pid %s", self.id,
                  self.function_version.qualified_arn, self.process.pid)
        try:
            future.result(timeout=STARTUP_TIMEOUT)
        except CancelledError:
            self.process.kill()
            raise ShutdownDuringStartup("Environment stopped while its runtime started") from None
        except TimeoutError:
            self.process.kill()
            raise LambdaRuntimeException(
                f"Runtime of {self.function_version.id.function_name} did not become ready "
                f"within {STARTUP_TIMEOUT:.0f} s") from None
        self._init_ms = (time.monotonic() - started) * 1000
        if not self.endpoint.container_port:
            raise LambdaRuntimeException("Runtime became ready without telling its port")

    def _on_exit(self, generation: int, startup: Future[bool], code: int) -> None:
        """A runtime process ended (its reader thread): fail whatever waited for it."""
        if not startup.done():
            with contextlib.suppress(Exception):
                startup.set_exception(StatusErrorException(
                    "Environment startup failed", payload=_exit_error("", code)))
        if generation != self._generation:
            return  # an earlier process of this environment; a newer one is in charge
        invocation = self.endpoint.invocation_future
        request_id = self._request_id
        if invocation is not None and request_id and not invocation.done():
            with contextlib.suppress(Exception):
                invocation.set_result(InvocationResult(
                    request_id, _exit_error(request_id, code), is_error=True, logs=None))

    def stop(self) -> None:
        self._stopped = True
        if self.process is not None:
            self.process.kill()
        if self.endpoint.startup_future is not None:
            with contextlib.suppress(Exception):
                self.endpoint.shutdown()
        self._session.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def _code_dir(self) -> Path:
        code = self.function_version.config.code
        assert code is not None
        return Path(code.get_unzipped_code_location())

    @property
    def _hot_reloading(self) -> bool:
        code = self.function_version.config.code
        return code is not None and code.is_hot_reloading()

    # --- invocation -------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        with self._invoke_lock:
            return self._invoke(payload)

    def _invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        timeout_s = int(self.function_version.config.timeout)
        init_ms = None
        if (self.process is not None and self._hot_reloading
                and code_stamp(self._code_dir) != self._code_stamp):
            # Directory code changed: like LocalStack's init, restart the runtime on it.
            self.process.kill()
        if self.process is None or not self.process.alive:
            if self._stopped:
                raise LambdaRuntimeException(f"Environment {self.id} is stopped")
            # After a timeout or a crash: a fresh process, as Lambda re-inits the sandbox.
            self._boot()
        if self._init_ms is not None:
            init_ms, self._init_ms = self._init_ms, None
        process = self.process
        assert process is not None
        before = process.take_output()  # init output and stray prints come before START
        future: Future[InvocationResult] = Future()
        self.endpoint.invocation_future = future
        self._request_id = request_id
        started = time.monotonic()
        url = f"http://{self.endpoint.container_address}:{self.endpoint.container_port}/invoke"
        try:
            response = self._session.post(url, json=payload, timeout=10)
        except requests.RequestException as exc:
            raise InvokeSendError(f"Error while sending invocation to {url}: {exc}") from exc
        if not response.ok:
            raise InvokeSendError(f"Invocation sent to {url} answered {response.status_code}")
        timed_out = False
        try:
            result = future.result(timeout=timeout_s)
            output = process.wait_for_mark(request_id, MARK_WAIT)
        except TimeoutError:
            timed_out = True
            process.kill()
            output = process.wait_exit_output()
            message = (f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {request_id} "
                       f"Task timed out after {timeout_s}.00 seconds")
            result = InvocationResult(request_id, json.dumps({"errorMessage": message}).encode(),
                                      is_error=True, logs=None)
            output += ("" if not output or output.endswith("\n") else "\n") + message + "\n"
        finally:
            self._request_id = None
        duration_ms = (time.monotonic() - started) * 1000
        logs = self._log_text(request_id, before, output, duration_ms, init_ms, timed_out,
                              process)
        return InvocationResult(result.request_id or request_id, result.payload,
                                result.is_error, logs, result.executed_version)

    def _log_text(self, request_id: str, before: str, output: str, duration_ms: float,
                  init_ms: float | None, timed_out: bool, process: EnvironmentProcess) -> str:
        """The invocation's log as LocalStack's init writes it (START, output, END, REPORT)."""
        memory = self.function_version.config.memory_size
        used = process.peak_rss_mb() or memory
        if timed_out:
            duration_ms = min(duration_ms, int(self.function_version.config.timeout) * 1000)
        if output and not output.endswith("\n"):
            output += "\n"
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                  f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory} MB\t"
                  f"Max Memory Used: {used} MB\t")
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        if timed_out:
            report += "Status: timeout"
        if before and not before.endswith("\n"):
            before += "\n"
        version = self.function_version.id.qualifier
        return (f"{before}START RequestId: {request_id} Version: {version}\n{output}"
                f"END RequestId: {request_id}\n{report}\n")

    # --- addresses --------------------------------------------------------------------

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return _loopback()

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{_loopback()}:{port}{self.endpoint.get_endpoint_prefix()}"

    def get_logs(self) -> str:
        return self.process.tail() if self.process is not None else "Runtime not started"

    # --- versions ---------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        """Refuse what we cannot run (the reason becomes the function's StateReason)."""
        config_ = function_version.config
        if config_.package_type != PackageType.Zip or not config_.runtime:
            raise UnsupportedRuntime(
                "container-image functions need Docker; the tutor's executor runs zip or "
                f"directory code for the runtimes {', '.join(environ.SUPPORTED_RUNTIMES)}")
        if config_.runtime not in environ.SUPPORTED_RUNTIMES:
            raise UnsupportedRuntime(
                f"runtime {config_.runtime} is not supported without Docker; the tutor's "
                f"executor runs {', '.join(environ.SUPPORTED_RUNTIMES)}")
        if config_.code:
            config_.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # nothing is prepared per version beyond the code LocalStack unpacks itself

    @classmethod
    def validate_environment(cls) -> bool:
        return True
