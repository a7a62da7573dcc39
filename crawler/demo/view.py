"""What ``leakpatrol demo`` shows: a live ``rich`` view while it runs, then the summary."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from crawler.demo.run import SOURCES, DemoState
from crawler.detect.redaction import fingerprint


def _sample(state: DemoState, name: str, **labels: str) -> float:
    if state.engine is None:
        return 0.0
    value = state.engine.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def live_table(state: DemoState) -> Group:
    t = Table(title="leakpatrol demo — sandbox on loopback, daemon polling every 1 s", expand=False)
    for col in ("source", "polls", "documents", "hits", "planted"):
        t.add_column(col, justify="right" if col != "source" else "left")
    for src in SOURCES:
        name = state.names.get(src, src)
        t.add_row(src, f"{_sample(state, 'leakpatrol_source_polls_total', source=name, result='ok'):.0f}",
                  f"{_sample(state, 'leakpatrol_documents_total', source=name):.0f}",
                  f"{sum(1 for p in state.plants if p.source == src and _caught(state, p))}",
                  f"{sum(1 for p in state.plants if p.source == src)}")
    verdicts = " ".join(f"{k} {_sample(state, 'leakpatrol_verifications_total', result=k):.0f}"
                        for k in ("live", "inactive", "unknown"))
    summary = Table.grid(padding=(0, 2))
    summary.add_row("verdicts", verdicts)
    summary.add_row("webhooks accepted", str(len(state.arrivals)))
    summary.add_row("partner alerts accepted", str(len(state.partner)))
    return Group(t, summary)


def _caught(state: DemoState, plant: Any) -> bool:
    if state.engine is None:
        return False
    return any(t.fingerprint == fingerprint(plant.token) for t in state.engine.store.tokens())


def start_live(console: Console) -> tuple[Live, Callable[[DemoState], None]]:
    live = Live(console=console, refresh_per_second=4, transient=False)

    def update(state: DemoState) -> None:
        live.update(live_table(state))

    return live, update


def _partner_lines(state: DemoState, live: list[Any]) -> list[str]:
    """The same tokens through the secret-scanning partner format, and the feedback answered."""
    assert state.engine is not None
    partnered = [p for p in live if fingerprint(p.token) in state.partner]
    labels = Counter(f.label for f in state.engine.store.feedback())
    said = ", ".join(f"{n} {label}" for label, n in sorted(labels.items())) or "none"
    first = min(partnered, key=lambda p: state.partner[fingerprint(p.token)], default=None)
    lines = [f"partner   {len(partnered)}/{len(live)} secret-scanning partner alerts verified with the daemon's keys "
             f"({state.keys_url}); feedback stored: {said}"]
    if first is not None:
        shown = next((t.redacted for t in state.engine.store.tokens() if t.fingerprint == fingerprint(first.token)),
                     "")
        lines.append(f"          e.g. {shown} from {first.source}: alert accepted "
                     f"{state.partner[fingerprint(first.token)] - first.published_at:.2f}s after it was published")
    return lines


def summary_lines(state: DemoState) -> list[str]:
    """Planted, caught, notified, revoked; latency per source (publish → webhook accepted)."""
    assert state.engine is not None
    tokens = {t.fingerprint: t for t in state.engine.store.tokens()}
    by_kind = {k: [p for p in state.plants if p.kind == k] for k in ("live", "revoked", "decoy")}
    live = by_kind["live"]
    caught = [p for p in live if fingerprint(p.token) in tokens]
    notified = [p for p in live if fingerprint(p.token) in state.arrivals]
    revoked = [p for p in live if (t := tokens.get(fingerprint(p.token))) is not None and t.revoked_at]
    dead_ok = [p for p in by_kind["revoked"] if (t := tokens.get(fingerprint(p.token))) is not None
               and t.status == "inactive" and fingerprint(p.token) not in state.arrivals]
    decoys_out = [p for p in by_kind["decoy"] if fingerprint(p.token) not in tokens]
    lines = [
        f"planted   {len(live)} live, {len(by_kind['revoked'])} already revoked, {len(by_kind['decoy'])} decoys "
        "(bad checksum)",
        f"caught    {len(caught)}/{len(live)} live tokens; {len(dead_ok)}/{len(by_kind['revoked'])} revoked ones "
        f"verified inactive and not notified; {len(decoys_out)}/{len(by_kind['decoy'])} decoys discarded offline",
        f"notified  {len(notified)}/{len(live)} signed webhooks accepted by the issuer's receiver",
        f"revoked   {len(revoked)}/{len(live)} seen revoked by the re-check after the issuer acted",
        *_partner_lines(state, live),
        "latency   publish → webhook accepted, per source:",
    ]
    for src in SOURCES:
        lat = [state.arrivals[fingerprint(p.token)] - p.published_at for p in live
               if p.source == src and fingerprint(p.token) in state.arrivals]
        if lat:
            p50 = statistics.median(lat)
            lines.append(f"          {src:<16} p50 {p50:5.2f}s  max {max(lat):5.2f}s  (n={len(lat)})")
    return lines
