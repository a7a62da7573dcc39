"""The report's ``feedback`` section: what issuers answered to ``github_partner`` alerts.

Labels count up to the period's end (precision is a property of a rule, not of a week); each token
counts once, with its latest label. ``precision`` = true positives / (true + false positives),
``null`` for a rule without feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from crawler.kernel.clock import iso

LABELS = ("true_positive", "false_positive")


class FeedbackRow(Protocol):
    token_id: int
    notifier: str
    label: str
    at: datetime | None


class LabelledToken(Protocol):
    id: int | None
    fingerprint: str
    rule: str
    redacted: str


def precision(true_positives: int, false_positives: int) -> float | None:
    labelled = true_positives + false_positives
    return round(true_positives / labelled, 4) if labelled else None


def feedback_section(tokens: Sequence[LabelledToken], feedback: Sequence[FeedbackRow], end: datetime,
                     where: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``by_rule`` (every rule with a token on record, by rule id) and ``false_positives`` (oldest label first)."""
    by_id = {t.id: t for t in tokens}
    counts: dict[str, dict[str, int]] = {t.rule: dict.fromkeys(LABELS, 0) for t in tokens}
    false_positives = []
    for f in sorted((f for f in feedback if f.at is not None and f.at < end and f.label in LABELS),
                    key=lambda f: (f.at, f.token_id)):
        tok = by_id.get(f.token_id)
        if tok is None:
            continue
        counts[tok.rule][f.label] += 1
        if f.label == "false_positive":
            false_positives.append({"redacted": tok.redacted, "fingerprint": tok.fingerprint, "rule": tok.rule,
                                    **where(tok), "notifier": f.notifier, "labelled_at": iso(f.at)})
    by_rule = [{"rule": rule, "true_positives": c["true_positive"], "false_positives": c["false_positive"],
                "precision": precision(c["true_positive"], c["false_positive"])} for rule, c in sorted(counts.items())]
    return {"by_rule": by_rule, "false_positives": false_positives}
