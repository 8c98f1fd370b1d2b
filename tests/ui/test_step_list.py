"""The step list on its own: states stream in during a check, titles wrap indented."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tutor.engine.labs.runner import StepReport
from tutor.ui.widgets.step_list import StepList

STEPS = [("one", "Create the queue"), ("two", "Give it a dead-letter queue with a redrive "
                                              "policy and a sensible maxReceiveCount"),
         ("three", "Redrive")]


class StepsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StepList(STEPS, id="steps")


async def test_states_stream_in_during_a_check() -> None:
    app = StepsApp()
    async with app.run_test(size=(40, 20)) as pilot:
        steps = app.query_one(StepList)
        steps.start_check()
        assert [s.status for s in steps.states.values()] == ["checking", "queued", "queued"]
        steps.checked(StepReport("one", "Create the queue", "passed", 1.0, 1.0))
        steps.checked(StepReport("two", "", "failed", 1.0, 4.0))
        assert [s.label for s in steps.states.values()] == ["passed", "partial 25%",
                                                             "checking"]
        steps.settle({})
        assert steps.states["three"].status == "not checked"
        await pilot.pause()
        prompt = str(steps.get_option("two").prompt)
        lines = prompt.splitlines()
        assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:])
        assert lines[-1].strip() == "partial 25%"
