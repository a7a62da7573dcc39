"""The only way a token is ever rendered outside the webhook body.

Redacted form (DESIGN.md): prefix + up to 4 body characters + ``…`` + ``sha256:`` + the first 8 hex
digits of the fingerprint, e.g. ``acme_live_AbCd…sha256:1f2e3d4c``. Short bodies show fewer
characters (a quarter of the body at most) so a redacted short key never gives much of it away.
"""

from __future__ import annotations

import hashlib

MAX_SHOWN = 4


def fingerprint(token: str | bytes) -> str:
    """Hex SHA-256 of the token: the only key used to de-duplicate and look tokens up."""
    raw = token.encode("utf-8") if isinstance(token, str) else token
    return hashlib.sha256(raw).hexdigest()


def redact(token: str | bytes, prefix: str, fp: str | None = None) -> str:
    """Render ``token`` (which starts with ``prefix``) in redacted form."""
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
    body = text[len(prefix):] if text.startswith(prefix) else text
    shown = body[: min(MAX_SHOWN, len(body) // 4)]
    return f"{prefix}{shown}…sha256:{(fp or fingerprint(token))[:8]}"

