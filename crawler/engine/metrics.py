"""Prometheus metrics (``prometheus-client``), one registry per engine so tests stay independent."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 120, 300, 900, 3600, 21600, 86400)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.documents = Counter("leakpatrol_documents", "Documents fetched and scanned", ["source"], registry=r)
        self.bytes = Counter("leakpatrol_document_bytes", "Bytes scanned", ["source"], registry=r)
        self.truncated = Counter("leakpatrol_documents_truncated", "Documents cut at max_document_bytes",
                                 ["source"], registry=r)
        self.documents_skipped = Counter("leakpatrol_documents_skipped",
                                         "Documents skipped alone (gone, not content, invalid, gave_up, "
                                         "scan_time_limit, scan_failed)",
                                         ["source", "reason"], registry=r)
        self.documents_parked = Counter("leakpatrol_documents_parked",
                                        "Per-document fetches that failed transiently and were parked",
                                        ["source", "reason"], registry=r)
        self.findings = Counter("leakpatrol_findings", "Token sightings found", ["rule", "source"], registry=r)
        self.new_tokens = Counter("leakpatrol_tokens_new", "Tokens seen for the first time", ["rule"], registry=r)
        self.bad_checksum = Counter("leakpatrol_checksum_rejects", "Matches discarded offline for a bad checksum",
                                    ["rule"], registry=r)
        self.verifications = Counter("leakpatrol_verifications", "Verdicts", ["result"], registry=r)
        self.deliveries = Counter("leakpatrol_deliveries", "Delivery attempts by outcome", ["notifier", "outcome"],
                                  registry=r)
        self.polls = Counter("leakpatrol_source_polls", "Source polls by result", ["source", "result"], registry=r)
        self.source_errors = Counter("leakpatrol_source_errors", "Source poll failures", ["source", "kind"],
                                     registry=r)
        self.rate_limit_waits = Counter("leakpatrol_source_rate_limit_waits", "Rate-limit back-offs", ["source"],
                                        registry=r)
        self.backoff = Gauge("leakpatrol_source_backoff_seconds", "Current back-off of a source (0 when healthy)",
                             ["source"], registry=r)
        self.last_success = Gauge("leakpatrol_source_last_success_timestamp_seconds",
                                  "Unix time of the last successful poll", ["source"], registry=r)
        self.leak_to_notify = Histogram("leakpatrol_leak_to_notify_seconds",
                                        "From published (or first fetch) to webhook accepted", ["source"],
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.pushes = Counter("leakpatrol_github_pushes", "Public pushes seen, by the source that saw them "
                              "(a push seen by two sources counts once for each)", ["seen_by"], registry=r)
        self.pushes_fetched = Counter("leakpatrol_github_pushes_fetched", "Pushes fetched from the fetch queue, "
                                      "by the source that queued them first", ["via"], registry=r)
        self.queue_dropped = Counter("leakpatrol_fetch_queue_dropped", "Queued items dropped at the queue's bound",
                                     ["source"], registry=r)
        self.queue_depth = Gauge("leakpatrol_fetch_queue_depth", "Items waiting in the fetch queue", ["source"],
                                 registry=r)
        self.queue_age = Gauge("leakpatrol_fetch_queue_oldest_age_seconds",
                               "Age of the oldest item waiting in the fetch queue (0 when empty)", ["source"],
                               registry=r)
        self.outbox_pending = Gauge("leakpatrol_outbox_pending", "Deliveries waiting", registry=r)
        self.feedback = Counter("leakpatrol_partner_feedback", "Labels received in github_partner answers",
                                ["rule", "label"], registry=r)
        self.precision = Gauge("leakpatrol_rule_precision",
                               "Issuer feedback per rule: true positives / (true + false positives)", ["rule"],
                               registry=r)

    def set_precision(self, counts: dict[str, dict[str, int]]) -> None:
        """``rule → label → tokens`` (the store's ``feedback_counts``) → the precision gauges."""
        for rule, labels in counts.items():
            tp, fp = labels.get("true_positive", 0), labels.get("false_positive", 0)
            if tp + fp:
                self.precision.labels(rule).set(tp / (tp + fp))
