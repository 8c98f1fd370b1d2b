"""Measurement hook loaded into learner programs: logs botocore API calls and SQLite connections.

The scenario runner puts this directory first on PYTHONPATH and sets TUTOR_MEASURE_FILE.
Each event is one JSON line appended (and flushed) at once, so a program killed by a
timeout still leaves everything it did on record. Nothing changes the program's behaviour.
"""

# mypy: ignore-errors
import json
import os
import threading
import time

_path = os.environ.get("TUTOR_MEASURE_FILE")

if _path:
    _lock = threading.Lock()
    _out = open(_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def _log(event):
        event["t"] = time.time()
        event["pid"] = os.getpid()
        line = json.dumps(event)
        with _lock:
            _out.write(line + "\n")

    def _patch_botocore():
        try:
            import botocore.client
        except ImportError:  # a program without boto3: nothing to count
            return
        original = botocore.client.BaseClient._make_api_call

        def counted(self, operation_name, api_params):
            service = self.meta.service_model.service_name
            try:
                response = original(self, operation_name, api_params)
            except Exception as exc:
                _log({"kind": "api", "service": service, "op": operation_name,
                      "error": type(exc).__name__})
                raise
            event = {"kind": "api", "service": service, "op": operation_name}
            if operation_name == "ReceiveMessage":
                event["n"] = len(response.get("Messages", []) or [])
            elif operation_name in ("SendMessageBatch", "DeleteMessageBatch"):
                event["n"] = len(response.get("Successful", []) or [])
                event["failed"] = len(response.get("Failed", []) or [])
            _log(event)
            return response

        botocore.client.BaseClient._make_api_call = counted

    def _patch_sqlite():
        import sqlite3

        original_connect = sqlite3.connect
        counter = iter(range(1, 1 << 62))

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

    _patch_botocore()
    _patch_sqlite()
