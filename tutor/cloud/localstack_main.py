"""Start LocalStack (host mode) with the tutor's per-instance fixes, then run it as usual.

LocalStack 4.14 keeps S3 object data in the hard-coded `/tmp/localstack-s3-storage`,
shared by every LocalStack on the machine whatever TMPDIR says: two sessions (or a
classroom of learners) using the same bucket names corrupt each other's objects. We point
it at this instance's own data directory, patching the module the moment it is imported
(importing it eagerly would add about a second to the boot).

The same way, it installs the SQS message lifecycle recorder (`tutor.cloud.sqs_trace`):
the SQS provider is wrapped when LocalStack first imports it, and the trace route is added
to the edge router when that is imported. Both cost nothing until used.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
from collections.abc import Callable
from types import ModuleType

S3_MODULE = "localstack.services.s3.provider"
SQS_MODULE = "localstack.services.sqs.provider"
EDGE_MODULE = "localstack.services.edge"


class _PatchOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Run `after(module)` right after `name` is first imported, before anyone uses it."""

    def __init__(self, name: str, after: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.after = after
        self._spec: importlib.machinery.ModuleSpec | None = None

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # find the real module once, without us
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self._spec = spec
        return importlib.machinery.ModuleSpec(fullname, self, origin=spec.origin,
                                              is_package=False)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        assert self._spec is not None and self._spec.loader is not None
        return self._spec.loader.create_module(self._spec)

    def exec_module(self, module: ModuleType) -> None:
        real = self._spec
        assert real is not None and real.loader is not None
        module.__spec__ = real
        module.__file__ = real.origin
        # Another thread that imports the module meanwhile must wait for it, executed and
        # patched. Python tells a module still executing by its spec's `_initializing`,
        # which it set on our spec: the real one must say so too, or that thread gets the
        # module half-executed (LocalStack's Lambda provider, importing a class of the SQS
        # provider, then failed every CreateFunction until a restart).
        real._initializing = True  # type: ignore[attr-defined]
        try:
            real.loader.exec_module(module)
            self.after(module)
        finally:
            real._initializing = False  # type: ignore[attr-defined]


def _s3_storage(storage: str) -> Callable[[ModuleType], None]:
    def after(module: ModuleType) -> None:
        module.DEFAULT_S3_TMP_DIR = storage  # type: ignore[attr-defined]
    return after


def main() -> None:
    from tutor.cloud import sqs_trace

    storage = os.environ.get("TUTOR_S3_STORAGE_DIR", "").strip()
    if storage:
        os.makedirs(storage, exist_ok=True)
        sys.meta_path.insert(0, _PatchOnImport(S3_MODULE, _s3_storage(storage)))
    # The route is added even with the recorder off, so the engine can tell the two apart.
    sys.meta_path.insert(0, _PatchOnImport(EDGE_MODULE, sqs_trace.add_route))
    if sqs_trace.enabled():
        sys.meta_path.insert(0, _PatchOnImport(SQS_MODULE, sqs_trace.patch_sqs))
    runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
