"""Keep secrets out of every message vnetdoctor prints or logs.

Tokens never reach vnetdoctor's own code paths (the SDK's authentication policy adds them to the
request headers, and the SDK's HTTP logging redacts ``Authorization``), but an error text from a
library could still quote one. :func:`scrub` is applied to every message built from outside text:
it removes the access tokens issued during this run (the collector registers each one as it is
issued), anything shaped like a JWT or a bearer header, query strings (ARM polling URLs carry
signatures) and ``secret=value`` pairs.
"""

from __future__ import annotations

import re
import threading
from typing import Final

_LOCK = threading.Lock()
_ISSUED: set[str] = set()

_JWT: Final = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_BEARER: Final = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+")
_QUERY: Final = re.compile(r"(https?://[^\s?#'\"]+)\?[^\s'\"]*")
_PAIRS: Final = re.compile(
    r"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|password|"
    r"secret|sig|signature|token|sharedkey|accountkey)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;]+)"
)
MAX_LENGTH: Final = 500


def remember_secret(value: str) -> None:
    """Register a secret (an access token) so that :func:`scrub` removes it from any text."""
    if value and len(value) >= 8:
        with _LOCK:
            _ISSUED.add(value)


def scrub(text: object, *, limit: int = MAX_LENGTH) -> str:
    """``text`` on one line, without secrets, at most ``limit`` characters."""
    out = " ".join(str(text).split())
    with _LOCK:
        issued = sorted(_ISSUED, key=len, reverse=True)
    for secret in issued:
        out = out.replace(secret, "<redacted>")
    out = _JWT.sub("<redacted-token>", out)
    out = _BEARER.sub(lambda m: f"{m.group(1)} <redacted>", out)
    out = _QUERY.sub(lambda m: m.group(1), out)
    out = _PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}<redacted>", out)
    return out if len(out) <= limit else out[: limit - 1] + "…"


__all__ = ["remember_secret", "scrub"]
