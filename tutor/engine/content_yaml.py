"""The one reader of content YAML (lab.yaml, question banks, corpus cases, the catalog):
safe, bounded in size and in alias expansion, a key written twice refused."""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's loader parses the banks ~20x faster than the pure-Python one (0.65 s -> 0.03 s)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Bounds for content files (the largest real one is ~36 KB with ~3,000 nodes): a file
# beyond them is refused with a message, never parsed for minutes or into gigabytes.
MAX_CONTENT_BYTES = 2 * 1024 * 1024
MAX_YAML_NODES = 200_000  # after expanding aliases: a "billion laughs" file stops here


class _ContentLoader(_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, refusing a key written twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key `{key_node.value}`", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def _expanded_size(root: Any) -> int:
    """Nodes of the document once aliases are expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[Any] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if done:
            on_path.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), MAX_YAML_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise yaml.YAMLError("an alias refers to a node that contains it (a cycle)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def parse_yaml(text: str) -> Any:
    """Parse one content document (lab.yaml, a bank): safe, bounded, duplicate keys refused.

    Raises yaml.YAMLError (with `problem` and `problem_mark` when it has a place).
    """
    if len(text) > MAX_CONTENT_BYTES:
        raise yaml.YAMLError(f"the file is larger than {MAX_CONTENT_BYTES // 1024 // 1024} "
                             "MiB; content files are a few dozen KB")
    loader = _ContentLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        # Without an anchor (`&`) there is no alias to expand: skip the walk (~3 ms a bank).
        if "&" in text and _expanded_size(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(f"its anchors and aliases expand to more than "
                                 f"{MAX_YAML_NODES:,} values")
        return loader.construct_document(node)
    except RecursionError:  # the pure-Python parser (no libyaml) on very deep nesting
        raise yaml.YAMLError("it is nested too deeply") from None
    finally:
        loader.dispose()
