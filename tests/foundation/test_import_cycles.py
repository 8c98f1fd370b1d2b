"""No import loop anywhere in the package, counting the imports inside functions: an import
moved into a function to dodge a loop is a loop still (issue 16). Imports under
TYPE_CHECKING do not run and do not count."""

from __future__ import annotations

import grimp


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("tutor", exclude_type_checking_imports=True)
    cycles: set[tuple[str, ...]] = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                loop = (module, *back)
                start = loop.index(min(loop[:-1]))  # one spelling for each loop
                cycles.add(loop[start:-1] + loop[:start + 1])
    assert not cycles, "\n".join(" -> ".join(loop) for loop in sorted(cycles))
