"""A handler deep in a package, to check `pkg/sub/mod.fn` and `pkg.sub.mod.fn`."""

from pkg import sub


def handler(event, context):
    return {"module": __name__, "package": sub.__name__}
