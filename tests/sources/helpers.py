"""Test helpers for the source suites: fixtures, a fake clock, a context built like the engine's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.http import allowed_hosts_for, make_client
from crawler.kernel.retry import RetryPolicy
from sources.base import Batch, Source, SourceContext

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ACME = compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                               checksum="crc32-base62"))


def fixture_text(source: str, name: str) -> str:
    return (FIXTURES / source / name).read_text(encoding="utf-8")


def fixture_json(source: str, name: str) -> Any:
    return json.loads(fixture_text(source, name))


def fixture_headers(source: str, name: str) -> dict[str, str]:
    """A ``*.headers.json`` sidecar without its ``_source``/``_note`` documentation keys."""
    return {k: v for k, v in fixture_json(source, name).items() if not k.startswith("_")}


def token() -> str:
    """A well-formed (checksummed) fake token minted by the project itself."""
    return mint(ACME)


@dataclass
class Clock:
    """Fake time: ``sleep`` records the wait and moves the clock; nothing really sleeps."""

    t: datetime = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    sleeps: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.t

    def epoch(self) -> float:
        return self.t.timestamp()


def make_source(cls: type[Source], table: Mapping[str, Any], clock: Clock, *,
                prefixes: tuple[str, ...] = ("acme_live_",), max_document_bytes: int = 10 * 1024 * 1024) -> Source:
    """The source as the engine builds it: validated options, host allow-list, injected time."""
    options = cls.Options.model_validate(dict(table))
    name = str(getattr(options, "name", None) or cls.name)
    hosts = allowed_hosts_for(options.api_url, cls.hosts(options))
    client = make_client(allowed_hosts=hosts, owner=name, follow_redirects=True)
    ctx = SourceContext(name=name, client=client, policy=RetryPolicy(sleep=clock.sleep, clock=clock.epoch),
                        prefixes=prefixes, max_document_bytes=max_document_bytes, sleep=clock.sleep, now=clock.now)
    return cls(options, ctx)


async def collect(source: Source, cursor: Mapping[str, Any], limit: int | None = None) -> list[Batch]:
    """Consume a poll like the engine does; ``limit`` stops after that many batches (not accepted)."""
    out: list[Batch] = []
    agen = source.poll(cursor)
    try:
        async for batch in agen:
            out.append(batch)
            if limit is not None and len(out) >= limit:
                break
    finally:
        await agen.aclose()  # type: ignore[attr-defined]
    return out


def documents(batches: list[Batch]) -> list[Any]:
    return [d for b in batches for d in b.documents]
