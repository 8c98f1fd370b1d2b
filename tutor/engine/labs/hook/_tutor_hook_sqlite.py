"""The hook's sqlite3 patch: measures connections and commits, and fails or kills chosen
commits.

Loaded by sitecustomize.py, by its path, after _tutor_hook_core (found in sys.modules).
"""

# mypy: ignore-errors
import contextlib

from _tutor_hook_core import INJECTED, _faults, _fired, _fires, _kill_point, _log, _plan_path


def _commit_fault():
    """Raise (after rolling back) when this commit is one the plan makes fail."""
    for fault in _faults():
        if fault.get("kind") == "commit_fail" and _fires(fault):
            _fired(fault)
            return fault
    return None


def _patch_sqlite():
    import sqlite3

    original_connect = sqlite3.connect
    counter = iter(range(1, 1 << 62))

    def failed_write(conn):
        with contextlib.suppress(sqlite3.Error):
            sqlite3.Connection.rollback(conn)
        return sqlite3.OperationalError(f"disk I/O error ({INJECTED}: the write failed and "
                                        "was rolled back)")

    class Measured(sqlite3.Connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._tutor_id = next(counter)
            self._tutor_open = True
            _log({"kind": "db_open", "id": self._tutor_id, "db": str(args[0] if args
                                                                     else "")})
            conn_id = self._tutor_id

            # Every transaction that commits, however it was written (commit(),
            # `with conn:`, an explicit COMMIT): SQLite traces each statement it runs.
            def trace(sql):
                head = sql.lstrip()[:6].upper()
                if head.startswith(("COMMIT", "END")):
                    _log({"kind": "db_commit", "id": conn_id})

            self.set_trace_callback(trace)

        def _tutor_commit(self, finish):
            """Commit through `finish`, with the plan's kill points and failed writes."""
            if not (_plan_path and self.in_transaction):
                return finish()
            _kill_point("before", "commit")
            if _commit_fault():
                raise failed_write(self)
            result = finish()
            _kill_point("after", "commit")
            return result

        def commit(self):
            return self._tutor_commit(super().commit)

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None:
                return super().__exit__(exc_type, exc, tb)
            return self._tutor_commit(lambda: super(Measured, self).__exit__(None, None, None))

        def _autocommits(self, sql):
            """A write outside a transaction on an autocommit connection is its own
            commit: the plan's commit faults apply to it too."""
            if not isinstance(sql, str) or self.in_transaction:
                return False
            if self.isolation_level is not None and getattr(self, "autocommit", -1) is not True:
                return False
            return sql.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE",
                                                        "REPLACE"))

        def execute(self, sql, *args, **kwargs):
            if isinstance(sql, str) and sql.lstrip()[:6].upper().startswith(("COMMIT", "END")):
                return self._tutor_commit(
                    lambda: super(Measured, self).execute(sql, *args, **kwargs))
            if self._autocommits(sql):
                return self._autocommit(lambda: super(Measured, self).execute(sql, *args,
                                                                              **kwargs))
            return super().execute(sql, *args, **kwargs)

        def executemany(self, sql, *args, **kwargs):
            if self._autocommits(sql):
                return self._autocommit(lambda: super(Measured, self).executemany(
                    sql, *args, **kwargs))
            return super().executemany(sql, *args, **kwargs)

        def _autocommit(self, run):
            _kill_point("before", "commit")
            if _commit_fault():
                raise sqlite3.OperationalError(f"disk I/O error ({INJECTED}: the write "
                                               "failed)")
            result = run()
            _log({"kind": "db_commit", "id": self._tutor_id, "autocommit": True})
            _kill_point("after", "commit")
            return result

        def close(self):
            if getattr(self, "_tutor_open", False):
                self._tutor_open = False
                _log({"kind": "db_close", "id": self._tutor_id})
            super().close()

        def __del__(self):
            if getattr(self, "_tutor_open", False):
                self._tutor_open = False
                _log({"kind": "db_close", "id": self._tutor_id, "gc": True})

    def connect(*args, **kwargs):
        kwargs.setdefault("factory", Measured)
        return original_connect(*args, **kwargs)

    sqlite3.connect = connect
