"""Upload a file to your running web app and follow it until it is processed (given).

    python webapp.py 8005            # in one terminal
    python upload.py notes.txt       # in another (port 8005 unless --port)
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--port", type=int, default=8005)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    request = urllib.request.Request(f"{base}/uploads", data=args.file.read_bytes(),
                                     method="POST", headers={"X-Filename": args.file.name})
    start = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as reply:
        answer = json.loads(reply.read())
        print(f"HTTP {reply.status} in {1000 * (time.monotonic() - start):.0f} ms: {answer}")
    upload_id = answer.get("upload_id")
    for _ in range(60):  # bounded: one minute
        with urllib.request.urlopen(f"{base}/uploads/{upload_id}", timeout=5) as reply:
            state = json.loads(reply.read())
        print(f"{time.monotonic() - start:5.1f} s  {state}")
        if state.get("state") != "processing":
            return
        time.sleep(1)


if __name__ == "__main__":
    main()
