"""Shared helpers for notifier and receiver tests: minted tokens, events, secrets."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

from crawler.config.model import RuleConfig
from crawler.detect.redaction import fingerprint, redact
from crawler.detect.rules import compile_rule
from crawler.notifiers.base import Event, Exposure

RULE = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62", severity="critical"))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def exposure_event(token: str, *, path: str | None = "config.env", line: int | None = 3) -> Event:
    fp = fingerprint(token)
    exp = Exposure(
        token=token, token_sha256=fp, redacted=redact(token, RULE.prefix, fp), rule=RULE.id,
        severity="critical", status="live",
        verified_at=datetime(2026, 11, 28, 21, 59, 59, 250000, tzinfo=UTC),
        first_seen_at=datetime(2026, 11, 28, 21, 59, 58),  # naive: the store's UTC
        source="github_gists", url="https://gist.github.com/someone/abc123", path=path, line=line,
        sightings=1,
    )
    return Event(type="token.exposed", timestamp=datetime(2026, 11, 28, 22, 0, 0, tzinfo=UTC), exposure=exp)
