"""Lab 01's order.v1 contract validator (its mistakes: labs/01-decoupling-tiers/mistakes)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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
