"""Lab 01's checks catch the coupling and redelivery mistakes, and its contract validator."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.namespace import Namespace
from tutor.engine.labs.runner import run_checks
from tutor.engine.labs.solution import apply_solution
from tutor.engine.labs.workspace import reset_workspace

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

LAB = Path(__file__).resolve().parents[2] / "labs" / "01-decoupling-tiers"


def _contract():  # type: ignore[no-untyped-def]
    path = LAB / "starter" / "contract" / "order_contract.py"
    spec = importlib.util.spec_from_file_location("lab01_contract_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOOD = {"contract": "order.v1", "order_id": "a-1", "customer": "c", "total_cents": 100,
        "items": [{"sku": "S", "qty": 1}], "accepted_at": "2026-01-31T12:00:00.000Z"}


def test_contract_accepts_a_valid_order() -> None:
    assert _contract().validate(GOOD) == []


@pytest.mark.parametrize(("change", "problem"), [
    ({"contract": "order.v2"}, "$.contract: must be 'order.v1'"),
    ({"total_cents": 1.5}, "$.total_cents: must be integer"),
    ({"total_cents": True}, "$.total_cents: must be integer"),
    ({"items": []}, "$.items: fewer than 1 items"),
    ({"items": [{"sku": "S", "qty": 0}]}, "$.items[0].qty: below 1"),
    ({"extra": 1}, "$.extra: not in the contract"),
])
def test_contract_names_each_violation(change: dict, problem: str) -> None:
    assert any(p.startswith(problem) for p in _contract().validate({**GOOD, **change}))


def test_contract_requires_every_field() -> None:
    problems = _contract().validate({"contract": "order.v1"})
    assert {p.split(":")[0] for p in problems} == {
        "$.order_id", "$.customer", "$.items", "$.total_cents", "$.accepted_at"}


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_mistakes_are_caught(localstack: Endpoint, tmp_path: Path) -> None:
    """A worker without an idempotency key duplicates; the coupled frontend is slow."""
    lab = load_lab(LAB)
    Namespace(lab.prefix, localstack).delete()
    workspace = reset_workspace(lab, tmp_path)
    apply_solution(lab, localstack, workspace, steps=["queue", "publish", "isolation"])
    solved = (LAB / "solution" / "worker.py").read_text()
    no_key = solved.replace(', "Idempotency-Key": order_id}', "}")
    assert no_key != solved
    (workspace / "worker.py").write_text(no_key)
    try:
        report = run_checks(lab, localstack, workspace, steps=["isolation"])
        found = {c.id: c for c in report.steps[0].checks}
        assert not found["exactly-once"].passed, found["exactly-once"].message
        assert found["nothing-lost"].passed  # it still deletes only after success

        (workspace / "frontend.py").write_text((LAB / "starter" / "frontend.py").read_text())
        (workspace / "worker.py").write_text(solved)
        report = run_checks(lab, localstack, workspace, steps=["isolation"])
        found = {c.id: c for c in report.steps[0].checks}
        assert not found["fast-while-slow"].passed  # waits for the slow downstream
        assert found["fast-while-slow"].evidence["p95_ms"] > 1000
        assert not found["nothing-lost"].passed  # refused while downstream was down
    finally:
        Namespace(lab.prefix, localstack).delete()
