"""The warehouse (given, do not edit): packs an order step by step, or refuses it.

`pack(order, on_step)` calls `on_step()` after each packing step (1 s each here) and
returns the shipment. It raises `InvalidOrder` for an order it can never pack (a permanent
error) and `Busy` the first time it sees an order marked `"simulate": "busy"` (a transient
error: the same order succeeds when tried again).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

STEP_SECONDS = 1.0  # one packing step; about a minute in a real warehouse


class InvalidOrder(Exception):
    """The order can never be packed (no items, an unknown SKU...): do not retry."""


class Busy(Exception):
    """The warehouse cannot take the order right now: trying again later will work."""


_seen_busy: set[str] = set()
_lock = threading.Lock()


def tracking_number(order_id: str) -> str:
    """The tracking number the warehouse gives an order (the same every time)."""
    return "TRK-" + hashlib.sha256(order_id.encode()).hexdigest()[:10].upper()


def pack(order: dict[str, Any], on_step: Callable[[], None] | None = None) -> dict[str, Any]:
    order_id = str(order.get("order_id", ""))
    items = order.get("items") or []
    if not order_id or not items:
        raise InvalidOrder(f"order {order_id or '?'} has no items")
    for item in items:
        if not str(item.get("sku", "")).startswith("SKU-") or int(item.get("qty", 0)) <= 0:
            raise InvalidOrder(f"order {order_id}: cannot pack {item!r}")
    if order.get("simulate") == "busy":
        with _lock:
            first_time = order_id not in _seen_busy
            _seen_busy.add(order_id)
        if first_time:
            raise Busy(f"order {order_id}: all packing stations are busy, try again")
    steps = 9 if order.get("simulate") == "slow" else 1
    for _ in range(steps):
        time.sleep(STEP_SECONDS)
        if on_step is not None:
            on_step()
    return {"order_id": order_id, "tracking": tracking_number(order_id),
            "packed_items": sum(int(i["qty"]) for i in items)}
