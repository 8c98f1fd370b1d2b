"""The upload scanner (given, do not edit): slow, strict, and the reason to offload.

`scan(data)` takes SCAN_SECONDS (an antivirus and format check: about 40 s on a real
document pipeline), then returns the SHA-256 of an acceptable upload or raises
`Rejected` with the reason. The web app must not make users wait for it.
"""

from __future__ import annotations

import hashlib
import time

SCAN_SECONDS = 1.0
MAX_BYTES = 10 * 1_048_576  # 10 MiB
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class Rejected(Exception):
    """The upload can never be accepted (empty, too big, not text, infected): do not retry."""


def scan(data: bytes) -> str:
    time.sleep(SCAN_SECONDS)
    if not data:
        raise Rejected("empty file")
    if len(data) > MAX_BYTES:
        raise Rejected(f"{len(data)} bytes is more than {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("not UTF-8 text") from None
    if EICAR in text:
        raise Rejected("matches the EICAR antivirus test signature")
    return hashlib.sha256(data).hexdigest()
