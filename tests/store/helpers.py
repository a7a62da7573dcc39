"""Minted tokens and a short ``Store.record`` call for the store and pipeline tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.redaction import fingerprint, redact
from crawler.detect.rules import compile_rule
from crawler.store.database import Found, Store

RULE_CONFIG = RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                         checksum="crc32-base62", severity="critical")
RULE = compile_rule(RULE_CONFIG)
T0 = datetime(2026, 11, 28, 22, 0, 0, tzinfo=UTC)


def new_token() -> str:
    return mint(RULE)


def record(store: Store, token: str, *, url: str = "https://gist.github.com/u/1", path: str | None = "a.env",
           line: int = 3, source: str = "github_gists", now: datetime = T0, **kw: Any) -> Found:
    fp = fingerprint(token)
    return store.record(token=token.encode(), fingerprint=fp, rule=RULE.id, severity="critical",
                        redacted=redact(token, RULE.prefix, fp), source=source, url=url, path=path, line=line,
                        published_at=kw.pop("published_at", None), now=now, **kw)
