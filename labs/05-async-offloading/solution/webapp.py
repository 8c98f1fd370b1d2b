"""The upload service: POST /uploads stores the file and answers 202 at once (offloaded).

    python webapp.py [port]      (default 8005)

The slow part (scanning, compressing, storing) happens later in the function
lab05-compress, fed by S3 event notifications through the queue lab05-upload-events.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab05-")
# Bucket names are global across all AWS accounts: yours end with your account id.
ACCOUNT = boto3.client("sts").get_caller_identity()["Account"]
UPLOADS = f"{PREFIX}uploads-{ACCOUNT}"
PROCESSED = f"{PREFIX}processed-{ACCOUNT}"
MAX_BYTES = 10 * 1_048_576  # documents up to 10 MiB
s3 = boto3.client("s3")


def status(upload_id: str) -> tuple[int, dict]:
    """Where an upload is: done, rejected, or still processing."""
    for key, state in ((f"done/{upload_id}.gz", "done"),
                       (f"rejected/{upload_id}.json", "rejected")):
        try:
            head = s3.head_object(Bucket=PROCESSED, Key=key)
        except s3.exceptions.ClientError:
            continue
        return 200, {"upload_id": upload_id, "state": state, "key": key,
                     "metadata": head.get("Metadata", {})}
    return 202, {"upload_id": upload_id, "state": "processing"}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        if self.path != "/uploads":
            return self.answer(404, {"error": "POST /uploads"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BYTES:  # refuse what can never be accepted, before reading it
            return self.answer(413, {"error": f"at most {MAX_BYTES} bytes"})
        data = self.rfile.read(length)
        name = PurePosixPath(self.headers.get("X-Filename") or "upload.txt").name
        upload_id = uuid.uuid4().hex
        # The claim check: the file goes to S3 (an SQS message holds at most 1 MiB);
        # S3 then announces it on the queue, and the function does the slow work.
        try:
            s3.put_object(Bucket=UPLOADS, Key=f"incoming/{upload_id}/{name}", Body=data)
        except Exception as exc:  # S3 unreachable: say so, the client may try again
            return self.answer(503, {"error": f"could not store the upload: {exc}"})
        self.answer(202, {"upload_id": upload_id, "status": f"/uploads/{upload_id}"})

    def do_GET(self) -> None:
        if self.path == "/health":
            return self.answer(200, {"ok": True})
        if self.path.startswith("/uploads/"):
            return self.answer(*status(self.path.rsplit("/", 1)[-1]))
        self.answer(404, {"error": "GET /uploads/<id> or /health"})

    def answer(self, code: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the output the tutor shows you


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # http.server's default backlog of 5 drops connections in a burst, and each dropped
    # SYN costs the client a 1 s retransmission: a 1 s "response time" the app never saw.
    request_queue_size = 128


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8005
    server = Server(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
