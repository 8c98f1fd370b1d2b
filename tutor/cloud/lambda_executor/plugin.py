"""The plux plugin that names our executor `tutor`; light, so listing plugins stays cheap."""

from __future__ import annotations

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class TutorRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "tutor"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from tutor.cloud.lambda_executor import compat, esm_scaling
        from tutor.cloud.lambda_executor.executor import TutorRuntimeExecutor

        compat.install()
        esm_scaling.install()
        return TutorRuntimeExecutor
