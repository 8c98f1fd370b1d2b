"""The upload service: POST /uploads scans, compresses and stores the file, then answers.

    python webapp.py [port]      (default 8005)

TODO (step 4): every request waits for the scanner. Make POST /uploads store the raw
file in the upload bucket and answer 202 at once; let the function do the slow part.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath

import boto3

import scanner

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
        # TODO: this makes the user wait for the whole scan. Store the raw file in the
        #       upload bucket under `incoming/<upload_id>/<name>` instead, and answer 202
        #       with {"upload_id": ...} at once: S3 announces it on the queue.
        try:
            digest = scanner.scan(data)
        except scanner.Rejected as exc:
            s3.put_object(Bucket=PROCESSED, Key=f"rejected/{upload_id}.json",
                          Body=json.dumps({"upload_id": upload_id, "reason": str(exc)}))
            return self.answer(422, {"upload_id": upload_id, "error": str(exc)})
        s3.put_object(Bucket=PROCESSED, Key=f"done/{upload_id}.gz",
                      Body=gzip.compress(data, mtime=0), ContentEncoding="gzip",
                      Metadata={"original-name": name, "sha256": digest})
        self.answer(201, {"upload_id": upload_id, "status": f"/uploads/{upload_id}"})

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
