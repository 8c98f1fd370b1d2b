"""The hook that patches a LocalStack module as it is imported keeps Python's import lock:
a second thread importing the module meanwhile waits for it, patched, instead of getting it
half-executed (LocalStack's Lambda provider imports the SQS provider's classes from another
thread than the one loading it; a half-executed module failed CreateFunction for good)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from tutor.cloud.localstack_main import _PatchOnImport

SLOW = '''
import time
time.sleep(0.6)  # a big module, still executing when the second thread imports it
class Worker:
    pass
'''


@pytest.fixture
def slow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"tutor_slow_{time.monotonic_ns()}"
    (tmp_path / f"{name}.py").write_text(SLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.mark.timeout(30)
def test_a_second_importer_waits_for_the_patched_module(slow_module: str) -> None:
    patched: list[str] = []

    def after(module: ModuleType) -> None:
        module.PATCHED = True  # type: ignore[attr-defined]
        patched.append(module.__name__)

    hook = _PatchOnImport(slow_module, after)
    sys.meta_path.insert(0, hook)
    got: dict[str, object] = {}

    def first() -> None:
        got["first"] = __import__(slow_module)

    def second() -> None:
        try:
            module = __import__(slow_module, fromlist=["Worker"])
            got["second"] = (module.Worker, getattr(module, "PATCHED", False))
        except (ImportError, AttributeError) as exc:  # a half-executed module
            got["second"] = exc

    try:
        a = threading.Thread(target=first)
        a.start()
        time.sleep(0.2)  # the first import is under way
        b = threading.Thread(target=second)
        b.start()
        a.join(10)
        b.join(10)
    finally:
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)
    assert not isinstance(got["second"], Exception), got["second"]
    worker, was_patched = got["second"]  # type: ignore[misc]
    assert worker.__name__ == "Worker" and was_patched  # whole, and patched, when it got it
    assert patched == [slow_module]  # executed and patched once
