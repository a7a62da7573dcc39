"""The pipeline: document → scan → store (token + sighting) → verify a new token → outbox → deliver,
all in the pass that found the hit.

:class:`Engine` holds what one process needs (rules, scanner, store, verifiers, notifiers, metrics)
and is used by ``crawl``, ``run``, ``demo`` and the benches alike.

Size: the Engine's start (notifier states, signing key, scan workers) and its per-batch path (scan,
record, verify, deliver) are one object every entry point opens; the steps themselves live in their
own modules (:mod:`.scanning`, :mod:`.verification`, :mod:`.delivery`), this one only orders them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from crawler.config.model import Config
from crawler.detect.diff import new_file_line
from crawler.detect.rules import Rule, load_rules
from crawler.detect.scanner import Match
from crawler.engine.delivery import Outbox, webhook_id
from crawler.engine.logs import Scrubber
from crawler.engine.metrics import Metrics
from crawler.engine.scanning import NotScanned, ScanWorkers, scan_pool
from crawler.engine.verification import VerifierSet
from crawler.http import make_client
from crawler.kernel.backoff import Backoff
from crawler.kernel.clock import utcnow
from crawler.kernel.errors import DeliveryError
from crawler.notifiers.base import Notifier
from crawler.plugins import make_notifier, needs_signing_key
from crawler.store.database import Store
from crawler.store.models import Delivery
from crawler.store.offload import Offload
from crawler.store.runtime import open_signing_key
from sources.base import Document

logger = logging.getLogger(__name__)

SETTLE_TIMEOUT = 8.0
WAKE_EVERY = 2.0
"""Seconds between two looks for notifiers re-enabled by the CLI while the daemon runs."""
SQLITE_STORE_THREADS = 1
"""SQLite serialises writers: a second thread would only wait on its lock, in the busy handler's
sleeps (up to 100 ms each), which showed as latency outliers in ``bench/latency.py``."""
SERVER_STORE_THREADS = 16
"""PostgreSQL calls mostly wait on the network: enough threads that every source, the verifications
and the delivery job can each have a round trip in flight."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Engine:
    def __init__(self, cfg: Config, store: Store, *, owner: str | None = None, metrics: Metrics | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.cfg, self.store, self.clock = cfg, store, clock
        self.db = Offload(SQLITE_STORE_THREADS if store.is_sqlite else SERVER_STORE_THREADS)
        """Every store call made on the loop goes through here (a thread pool)."""
        self.owner = owner or default_owner()
        self.metrics = metrics or Metrics()
        self.rules: list[Rule] = load_rules(cfg)
        self.rules_by_id = {r.id: r for r in self.rules}
        self.scanner = ScanWorkers(self.rules, scan_pool(cfg.scanner.workers), time_limit=cfg.scanner.time_limit,
                                   max_document_bytes=cfg.scanner.max_document_bytes)
        """Scans documents in worker processes (never on the event loop), each under a time limit."""
        self.notifiers: dict[str, Notifier] = {}
        self.sleeping: dict[str, Notifier] = {}
        """Notifiers their endpoint disabled: they join :attr:`notifiers` again once re-enabled."""
        self._woken_at = 0.0
        self._stack = AsyncExitStack()
        self.verifiers = VerifierSet(cfg, self._stack)
        self.scrub = Scrubber(self.rules)
        """Redacts tokens in texts that are stored or cut (error details, a sighting's url/path/meta)."""
        self.outbox = Outbox(store, self.db, self.notifiers, self.metrics, self.owner, clock, self.scrub)
        self.outbox.sleeping = self.sleeping
        self._bad_seen: dict[str, int] = {}
        self.started_at = clock()
        self.store_error: tuple[str, datetime] | None = None
        """The last store write that failed (its error, scrubbed, and when) until one succeeds again;
        ``/healthz`` reports the store unhealthy meanwhile."""
        self._inflight: dict[int, asyncio.Task[str]] = {}
        self._source_counters: dict[str, tuple[Any, Any]] = {}
        self.shared: dict[str, Any] = {}
        """State the sources of this engine share (``SourceContext.shared``: a GitHub credential's budget)."""

    async def __aenter__(self) -> Engine:
        await self._stack.__aenter__()
        warming = asyncio.ensure_future(self.scanner.warm())  # the workers start while the rest opens
        warming.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved, if never awaited
        disabled = await self.db(self.store.notifier_states)
        if needs_signing_key(self.cfg):
            await asyncio.to_thread(open_signing_key, self.cfg)
        for nc in self.cfg.notifiers:
            client = await self._stack.enter_async_context(
                make_client(self.cfg.http, owner=f"notifier {nc.id}", follow_redirects=False))
            notifier = make_notifier(self.cfg, nc, client)
            problem = notifier.missing_credentials()
            if problem:
                logger.error("notifier %s disabled: %s", nc.id, problem)
                continue
            state = disabled.get(nc.id)
            if state is not None and state.target and state.target != notifier.target():
                resumed = await self.db(self.store.enable_notifier, nc.id, self.clock())
                logger.warning("notifier %s re-enabled: its URL changed since its endpoint disabled it (%s); "
                               "%d deliveries resume", nc.id, state.reason, resumed or 0)
            elif state is not None:
                logger.error("notifier %s stays disabled (%s); `leakpatrol notifiers enable %s` re-enables it",
                             nc.id, state.reason, nc.id)
                self.sleeping[nc.id] = notifier
                continue
            self.notifiers[nc.id] = notifier
        await self.outbox.release_dead_claims()
        self.metrics.set_precision(await self.db(self.store.feedback_counts))
        try:
            await warming
        except Exception as exc:  # the first batch starts them again; its documents say what failed
            logger.warning("scan workers did not start: %s", exc)
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.settle(SETTLE_TIMEOUT)
            await self._stack.__aexit__(et, e, tb)
        finally:
            self.db.close()

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for the verifications started in the background (``process(..., wait=False)``); past
        ``timeout`` they are cancelled. A cancelled one is safe: its token is stored as ``pending`` and
        due, so the next re-check (or start) verifies it."""
        tasks = list(self._inflight.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)

    def store_failed(self, exc: BaseException) -> None:
        self.store_error = (f"{type(exc).__name__}: {self.scrub.cut(str(exc), 200)}", self.clock())

    def store_ok(self) -> None:
        self.store_error = None

    # -- documents ---------------------------------------------------------------------------

    async def process(self, docs: Sequence[Document], *, wait: bool = True) -> int:
        """Scan and record a batch of documents; verify and notify new tokens. Returns sightings added.

        Recording is done when this returns. Verification and notification start at once; with
        ``wait=False`` (the pollers) they run on while the source fetches on, so a slow verifier never
        holds up the crawl — and since the token is already stored as ``pending`` and due, a crash
        before its verdict only means the re-check verifies it."""
        cap = self.cfg.scanner.max_document_bytes
        results = await self.scanner.scan([d.content for d in docs])
        self._count_bad_checksums()
        added, before = 0, set(self._inflight)
        found: list[tuple[Document, Match]] = []
        for doc, matches in zip(docs, results, strict=True):
            if isinstance(matches, NotScanned):
                self.metrics.documents_skipped.labels(doc.source, matches.reason).inc()
                logger.warning("%s: document %s not scanned (%s): %s", doc.source, self.scrub(doc.url),
                               matches.reason, matches.detail)
                continue
            counted, scanned = self._per_source(doc.source)
            counted.inc()
            scanned.inc(min(len(doc.content), cap))
            if doc.truncated or len(doc.content) > cap:
                self.metrics.truncated.labels(doc.source).inc()
            found.extend((doc, m) for m in matches)
        if found:
            added = await self._record(found)
        if wait:  # as if verified inline: their errors are this call's errors
            await asyncio.gather(*(t for tid, t in list(self._inflight.items()) if tid not in before))
        return added

    def _per_source(self, source: str) -> tuple[Any, Any]:
        """The documents and bytes counters of one source (label look-ups cost per document)."""
        if source not in self._source_counters:
            self._source_counters[source] = (self.metrics.documents.labels(source),
                                             self.metrics.bytes.labels(source))
        return self._source_counters[source]

    def _count_bad_checksums(self) -> None:
        for rule, n in self.scanner.bad_checksum.items():
            delta = n - self._bad_seen.get(rule, 0)
            if delta:
                self.metrics.bad_checksum.labels(rule).inc(delta)
                self._bad_seen[rule] = n

    async def _record(self, matches: Sequence[tuple[Document, Match]]) -> int:
        """Store every match of a batch in one store call; return how many sightings were new."""
        rows = []
        for doc, m in matches:
            scrub = self.scrub  # a token in a file name, URL or author field is stored redacted only
            meta = {k: scrub(v) for k, v in doc.meta.items()}
            rows.append({
                "token": m.token, "fingerprint": m.fingerprint, "rule": m.rule.id, "severity": m.rule.severity,
                "redacted": m.redacted, "source": doc.source, "url": scrub(doc.url),
                "path": scrub(doc.path) if doc.path else doc.path,
                "line": new_file_line(doc.content, m.line) if doc.is_patch else m.line,
                "published_at": doc.published_at, "meta": meta, "now": self.clock(),
                "place": meta.get("repo") or meta.get("author") or meta.get("user") or ""})
        results = await self.db(self.store.record_many, rows)
        for (doc, m), found in zip(matches, results, strict=True):
            if found.new_sighting:
                self.metrics.findings.labels(m.rule.id, doc.source).inc()
            if found.new_token:
                self.metrics.new_tokens.labels(m.rule.id).inc()
                logger.info("new %s token %s in %s (%s)", m.rule.id, m.redacted, doc.source, doc.url)
                self._verify_soon(found.token_id)
        return sum(f.new_sighting for f in results)

    def _verify_soon(self, token_id: int) -> None:
        if token_id in self._inflight:
            return
        task = asyncio.ensure_future(self.verify(token_id))
        self._inflight[token_id] = task
        task.add_done_callback(lambda t, tid=token_id: self._done(tid, t))  # type: ignore[misc]

    def _done(self, token_id: int, task: asyncio.Task[str]) -> None:
        self._inflight.pop(token_id, None)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            logger.error("verifying token #%d failed: %s: %s", token_id, type(exc).__name__, exc)

    # -- verification ------------------------------------------------------------------------

    def _next_check(self, status: str, attempts: int, first_seen: datetime, has_verifier: bool) -> datetime | None:
        now, v = self.clock(), self.cfg.verification
        if status == "live":
            return now + timedelta(seconds=v.recheck)
        if status == "unknown" and has_verifier:
            if (now - first_seen).total_seconds() >= v.unknown_give_up_after:
                return None
            return now + timedelta(seconds=Backoff(v.unknown_retry, v.unknown_max_backoff).delay(attempts + 1))
        return None

    async def verify(self, token_id: int) -> str:
        """Verify one token now, record the verdict, then enqueue and deliver what it triggers."""
        tok = await self.db(self.store.token, token_id)
        rule = self.rules_by_id.get(tok.rule)
        if rule is None:
            return tok.status
        verifier_id, verdict = await self.verifiers.verify(rule, self.store.reveal(tok))
        assert tok.first_seen_at is not None
        # The verdict and the outbox rows it triggers commit together: a kill leaves both or neither
        # (then the token is still pending, so due for verification again); never a live token stranded.
        rows = self.outbox_rows(token_id, verdict.status, rule.id, tok.fingerprint)
        nxt = self._next_check(verdict.status, tok.check_attempts, tok.first_seen_at, verifier_id != "none")
        reason = self.scrub.cut(verdict.reason, 500)  # an issuer's answer may echo the token
        old, new = await self.db(self.store.record_verdict, token_id, verifier_id, verdict.status, reason,
                                 next_check_at=nxt, now=self.clock(), outbox=rows)
        self.metrics.verifications.labels(new).inc()
        if old != new:
            logger.info("token %s (%s): %s → %s (%s)", tok.redacted, tok.rule, old, new, reason)
        await self.outbox.deliver_due(token_id=token_id)
        return new

    async def recheck_due(self, limit: int = 100) -> int:
        """Retry ``unknown`` verdicts and re-check live tokens whose time has come."""
        due = [t for t in await self.db(self.store.due_checks, self.clock(), limit) if t.id not in self._inflight]
        for tok in due:
            assert tok.id is not None
            await self.verify(tok.id)
        return len(due)

    # -- notification ------------------------------------------------------------------------

    def outbox_rows(self, token_id: int, status: str, rule_id: str, fingerprint: str) -> list[Delivery]:
        """One outbox row per notifier that ``status`` and the rule trigger (committed with the verdict)."""
        now = self.clock()
        return [Delivery(webhook_id=webhook_id(nc.id, fingerprint), notifier=nc.id, token_id=token_id,
                         event_type="token.exposed", created_at=now, next_attempt_at=now)
                for nc in self.cfg.notifiers
                if status in nc.on and (nc.rules is None or rule_id in nc.rules)]

    async def wake_notifiers(self) -> list[str]:
        """Notifiers disabled in this process that ``leakpatrol notifiers enable`` re-enabled since
        (checked at most every ``WAKE_EVERY`` seconds); they deliver again from now on."""
        if not self.sleeping or time.monotonic() - self._woken_at < WAKE_EVERY:
            return []
        self._woken_at = time.monotonic()
        still = await self.db(self.store.notifier_states)
        woken = [nid for nid in self.sleeping if nid not in still]
        for nid in woken:
            self.notifiers[nid] = self.sleeping.pop(nid)
            logger.warning("notifier %s re-enabled (leakpatrol notifiers enable); its deliveries resume", nid)
        return woken

    async def deliver_due(self) -> int:
        """The delivery job: attempt what is due, then refresh ``leakpatrol_outbox_pending``."""
        await self.wake_notifiers()
        delivered = await self.outbox.deliver_due()
        self.metrics.outbox_pending.set(await self.db(self.store.count_pending_deliveries))
        return delivered

    async def send_report(self, label: str, report: dict[str, object], summary: str) -> None:
        """Queue the weekly report for the notifiers in ``[report] notify`` and deliver it."""
        for nid in self.cfg.report.notify:
            if nid not in self.notifiers:
                raise DeliveryError(nid, "not available (missing credentials or disabled)")
            await self.db(self.store.enqueue, webhook_id=webhook_id(nid, f"report:{label}"), notifier=nid,
                          token_id=None, event_type="report.weekly",
                          payload={"report": report, "summary": summary}, now=self.clock())
        await self.outbox.deliver_due()
