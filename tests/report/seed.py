"""Seed a real store with known timestamps for the report tests (and the README screenshot).

``seed_golden`` builds the scenario that ``tests/fixtures/report/golden.json`` describes (report
period 2026-W48, ``now`` = Mon 2026-11-30 07:00Z). Tokens are minted from a fixed
``random.Random`` so fingerprints and redacted forms are the same on every run.

Run ``python -m tests.report.seed OUT_DIR`` to write the demo-like report (12 tokens over 3 weeks)
used for ``docs/report-screenshot.png``.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.config.model import RuleConfig
from crawler.detect.mint import mint
from crawler.detect.redaction import fingerprint, redact
from crawler.detect.rules import Rule, compile_rule
from crawler.store.crypto import Cipher
from crawler.store.database import Store, open_store
from crawler.store.fetches import NewFetch

RULES = {
    "acme-live": compile_rule(RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                                         checksum="crc32-base62", severity="critical")),
    "acme-test": compile_rule(RuleConfig(id="acme-test", prefix="acme_test_", charset="base62", length=30,
                                         checksum="crc32-base62", severity="medium")),
    "demo-pat": compile_rule(RuleConfig(id="demo-pat", prefix="demo_pat_", charset="hex", length=40,
                                        severity="high")),
}
PERIOD_LABEL = "2026-W48"
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    """``"11-24 09:00:10"`` → 2026-11-24T09:00:10Z (all seed times are in Nov 2026)."""
    return datetime.strptime("2026-" + text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
                             ).replace(tzinfo=UTC)


def new_store(path: Path) -> Store:
    return open_store("sqlite:///" + str(path), Cipher(os.urandom(32)))


@dataclass
class Seeder:
    """Thin helper over the Store's write methods; remembers every minted plaintext."""

    store: Store
    rng: random.Random = field(default_factory=lambda: random.Random(20261130))
    plaintexts: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def token(self, name: str, rule_id: str) -> str:
        rule: Rule = RULES[rule_id]
        self.plaintexts[name] = mint(rule, self.rng)
        return self.plaintexts[name]

    def sight(self, name: str, rule_id: str, *, source: str, url: str, found: str, published: str | None,
              place: str = "") -> int:
        rule = RULES[rule_id]
        value = self.plaintexts.get(name) or self.token(name, rule_id)
        fp = fingerprint(value)
        found_row = self.store.record(
            token=value.encode(), fingerprint=fp, rule=rule.id, severity=rule.severity,
            redacted=redact(value, rule.prefix, fp), source=source, url=url, path="config.env", line=3,
            published_at=at(published) if published else None, place=place, now=at(found))
        self.ids[name] = found_row.token_id
        return found_row.token_id

    def verdict(self, name: str, status: str, when: str, verifier: str = "acme-introspect") -> None:
        self.store.record_verdict(self.ids[name], verifier, status, "", next_check_at=None, now=at(when))

    def deliver(self, name: str | None, notifier: str, outcome: str, when: str, *, created: str | None = None,
                event: str = "token.exposed", attempts: int = 1, http_status: int | None = None,
                error: str = "") -> None:
        token_id = self.ids[name] if name else None
        webhook_id = f"msg_{notifier}_{name or event}_{created or when}"
        self.store.enqueue(webhook_id=webhook_id, notifier=notifier, token_id=token_id, event_type=event,
                           now=at(created or when))
        row = next(d for d in self.store.deliveries() if d.webhook_id == webhook_id)
        assert row.id is not None
        for _ in range(attempts - 1):
            self.store.finish_attempt(row.id, status="pending", error=error, http_status=http_status,
                                      next_attempt_at=at(when), now=at(created or when))
        self.store.finish_attempt(row.id, status=outcome, error=error, http_status=http_status, now=at(when))


    def label(self, name: str, label: str, when: str, notifier: str = "acme-partner") -> None:
        """The issuer's answer to a ``github_partner`` alert."""
        self.store.record_feedback(self.ids[name], notifier, label, at(when))


def seed_golden(store: Store) -> Seeder:
    """The golden scenario: see the comments in tests/report/test_report.py for the expected numbers."""
    s = Seeder(store)
    # W46: A leaks on a gist by alice; live, notified after 30 s; still live now.
    s.sight("A", "acme-live", source="github_gists", url="https://gist.github.com/alice/a1",
            found="11-09 10:00", published="11-09 09:58", place="alice")
    s.verdict("A", "live", "11-09 10:00:05")
    s.deliver("A", "acme-revoke", "delivered", "11-09 10:00:30")
    # W47: B on pastebin (no published time); live, notified after 60 s; revoked in W48 after 7 days.
    s.sight("B", "acme-test", source="pastebin", url="https://pastebin.com/Bbbbbbbb",
            found="11-17 12:00", published=None)
    s.verdict("B", "live", "11-17 12:00:02")
    s.deliver("B", "acme-revoke", "delivered", "11-17 12:01:00")
    s.deliver(None, "security-chat", "failed", "11-23 07:00:05", created="11-23 07:00", event="report.weekly",
              http_status=404, error="HTTP 404: no_service")
    # W48 (the report period).
    s.verdict("B", "inactive", "11-24 12:00")
    s.sight("C", "acme-live", source="github_events", url="https://github.com/acme/website/commit/c1",
            found="11-24 09:00", published="11-24 08:55", place="acme/website")
    s.verdict("C", "live", "11-24 09:00:01")
    s.deliver("C", "acme-revoke", "delivered", "11-24 09:00:10")
    s.sight("D", "acme-live", source="github_events", url="https://github.com/acme/website/commit/d1",
            found="11-25 14:00", published="11-25 13:59", place="acme/website")
    s.verdict("D", "live", "11-25 14:00:02")
    s.deliver("D", "acme-revoke", "delivered", "11-25 14:00:45")
    s.verdict("D", "inactive", "11-25 16:00")
    s.sight("E", "acme-test", source="gitlab_snippets", url="https://gitlab.com/-/snippets/501",
            found="11-26 08:00", published="11-26 07:30", place="bob")
    s.verdict("E", "unknown", "11-26 08:00:03")
    s.deliver("E", "security-chat", "dead", "11-27 08:00", created="11-26 08:00:04", attempts=3,
              http_status=503, error="HTTP 503: upstream unavailable")
    s.sight("E", "acme-test", source="gitlab_snippets", url="https://gitlab.com/-/snippets/502",
            found="11-26 09:00", published="11-26 08:50", place="bob")
    s.verdict("A", "live", "11-26 10:00")
    s.sight("F", "demo-pat", source="github_gists", url="https://gist.github.com/alice/f1",
            found="11-27 20:00", published="11-27 19:50", place="alice")
    s.verdict("F", "live", "11-27 20:00:01", verifier="demo-http")
    s.deliver("F", "acme-revoke", "delivered", "11-27 20:02:00")
    s.sight("C", "acme-live", source="github_gists", url="https://gist.github.com/carol/c2",
            found="11-28 10:00", published="11-28 09:00", place="carol")
    s.sight("G", "demo-pat", source="pastebin", url="https://pastebin.com/Gggggggg",
            found="11-29 23:00", published=None)
    s.verdict("G", "inactive", "11-29 23:00:01", verifier="demo-http")
    # After the period, before `now`: H is live (in the still-live list, not a new exposure of W48).
    s.sight("H", "acme-live", source="github_events", url="https://github.com/acme/api/commit/h1",
            found="11-30 03:00", published="11-30 02:59", place="acme/api")
    s.verdict("H", "live", "11-30 03:00:01")
    s.deliver("H", "acme-revoke", "delivered", "11-30 03:00:20")
    # Issuer feedback (github_partner answers): A, C, D confirmed; F a false positive; H's label comes
    # after the period, so it is not counted.
    s.label("A", "true_positive", "11-09 10:00:31")
    s.label("C", "true_positive", "11-24 09:00:11")
    s.label("D", "true_positive", "11-25 14:00:46")
    s.label("F", "false_positive", "11-27 20:02:01")
    s.label("H", "true_positive", "11-30 03:00:21")
    seed_pushes(store)
    return s


def seed_pushes(store: Store) -> None:
    """Pushes for the Coverage section (see ``test_coverage_numbers``). 24 Nov: P1, P2 seen by the
    feed first (fetched after 40 s and 50 s), P3, P4 only by the archive (P3 fetched 3900 s after it
    was published, P4 dropped at the queue's bound); the archive saw all four. 25 Nov: P5 seen by the
    feed only (no archive that day), fetched after 20 s. 22 Nov (W47): P0, outside the period."""
    def push(name: str, published: str) -> NewFetch:
        return NewFetch(f"push:1:{name}", {"kind": "push"}, at(published))

    def done(name: str, when: str, status: str = "done") -> None:
        [row] = [r for r in store.fetch_items() if r.key == f"push:1:{name}"]
        assert row.id is not None
        store.finish_fetch(row.id, status, at(when))

    store.queue_fetches([push("P0", "11-22 09:00")], handler="github_events", lane="realtime", now=at("11-22 09:01"))
    done("P0", "11-22 09:01")
    store.queue_fetches([push("P1", "11-24 10:00"), push("P2", "11-24 10:01")], handler="github_events",
                        lane="realtime", now=at("11-24 10:01:30"))
    done("P1", "11-24 10:00:40")
    done("P2", "11-24 10:01:50")
    store.queue_fetches([push(p, f"11-24 10:0{n}") for n, p in enumerate(["P1", "P2", "P3", "P4"])],
                        handler="gharchive", lane="backfill", now=at("11-24 11:05"))
    done("P3", "11-24 11:05:00")
    done("P4", "11-24 11:05:00", "dropped")
    store.queue_fetches([push("P5", "11-25 08:00")], handler="github_events", lane="realtime", now=at("11-25 08:00"))
    done("P5", "11-25 08:00:20")


DEMO_SOURCES = [
    ("github_events", "https://github.com/{place}/commit/{n:040x}", ["acme/website", "acme/infra", "jdoe/dotfiles"]),
    ("github_gists", "https://gist.github.com/{place}/{n:032x}", ["alice", "mallory"]),
    ("gitlab_snippets", "https://gitlab.com/-/snippets/{n}", ["bob"]),
    ("pastebin", "https://pastebin.com/{n:08X}", [""]),
]
# (days before `now`, final outcome): three tokens in each earlier week, six in the report week.
DEMO_PLAN = [(20.5, "live"), (18.2, "revoked"), (15.4, "inactive"), (13.1, "live"), (11.6, "revoked"),
             (9.3, "live"), (6.4, "live"), (5.5, "inactive"), (4.2, "unknown"), (3.3, "live"), (2.4, "revoked"),
             (1.2, "live")]


def seed_demo(store: Store, now: datetime) -> Seeder:
    """Twelve tokens over the three weeks before ``now``, across sources, rules and outcomes."""
    s = Seeder(store, random.Random(7))
    plan = random.Random(11)
    for n, (days, outcome) in enumerate(DEMO_PLAN):
        found = now - timedelta(days=days, minutes=plan.randint(0, 300))
        source, url, places = DEMO_SOURCES[plan.randrange(len(DEMO_SOURCES))]
        place = plan.choice(places)
        url = url.format(place=place, n=plan.getrandbits(160 if "commit" in url else 32 if "pastebin" in url else
                                                           128 if "gist" in url else 23))
        s.sight(f"T{n}", plan.choice(list(RULES)), source=source, url=url, found=_later(found, 0),
                published=_later(found, -plan.randint(40, 900)), place=place)
        first = "live" if outcome == "revoked" else outcome
        s.verdict(f"T{n}", first, _later(found, 2))
        if first == "live":
            s.deliver(f"T{n}", "acme-revoke", "delivered", _later(found, plan.randint(8, 95)))
        if first == "unknown":
            s.deliver(f"T{n}", "security-chat", "dead", _later(found, 86400), created=_later(found, 3),
                      attempts=9, http_status=503, error="HTTP 503: upstream unavailable")
        if outcome == "revoked":
            s.verdict(f"T{n}", "inactive", _later(found, plan.randint(1800, 30000)))
    return s


def _later(moment: datetime, secs: float) -> str:
    return (moment + timedelta(seconds=secs)).strftime("%m-%d %H:%M:%S")


if __name__ == "__main__":  # pragma: no cover - writes the demo report for the README screenshot
    from crawler.report.compute import Period
    from crawler.report.render import write_report

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    demo_store = new_store(out / "demo.db")
    seed_demo(demo_store, NOW)
    write_report(demo_store, Period.last_full_week(NOW), NOW, out)
