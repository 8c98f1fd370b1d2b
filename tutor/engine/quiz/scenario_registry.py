"""The registry of predict-then-observe scenarios: `@scenario` files a function by name.

The scenario modules (`sqs_scenarios`, `stream_scenarios`) register into it on import;
`scenarios` imports them all and looks names up here.
"""

from __future__ import annotations

from collections.abc import Callable

ScenarioFn = Callable[..., str]
SCENARIOS: dict[str, ScenarioFn] = {}


def scenario(fn: ScenarioFn) -> ScenarioFn:
    SCENARIOS[fn.__name__] = fn
    return fn
