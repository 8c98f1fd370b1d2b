"""Validate a message body against contract/order.v1.schema.json (the subset of JSON Schema
it uses: type, required, properties, additionalProperties, const, minLength, minimum,
minItems, items). Used by downstream.py and by the lab's checks; no third-party package."""

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("order.v1.schema.json")
_TYPES = {"object": dict, "array": list, "string": str, "integer": int}


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate(value, schema: dict | None = None, where: str = "$") -> list[str]:
    """Every violation as `path: problem`; an empty list means the value conforms."""
    schema = load_schema() if schema is None else schema
    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        return [f"{where}: must be {schema['const']!r}, is {value!r}"]
    kind = schema.get("type")
    if kind:
        expected = _TYPES[kind]
        if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
            return [f"{where}: must be {kind}, is {type(value).__name__}"]
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{where}: shorter than {schema['minLength']}")
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: below {schema['minimum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            problems += validate(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}.{name}: required")
        for name, item in value.items():
            if name in props:
                problems += validate(item, props[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}.{name}: not in the contract")
    return problems
