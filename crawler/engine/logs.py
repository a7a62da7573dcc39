"""Log handlers (only the CLI configures logging): human by default, JSON with ``--log-format json``.

A last line of defence scrubs anything that looks like a token of a loaded rule out of every record;
the code itself only ever logs redacted forms.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crawler.detect.rules import Rule


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
               "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
        return json.dumps(doc)


class ScrubFilter(logging.Filter):
    """Replaces any rule match in a formatted message with its redacted form."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        super().__init__()
        self.scanner: Any = None
        self.rules: Sequence[Rule] = ()
        self.set_rules(rules)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Use these rules from now on; their scanner is compiled when the first record comes (a
        ``scan`` that logs nothing does not pay for it)."""
        self.rules, self.scanner = list(rules), None

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.rules:
            return True
        if self.scanner is None:
            from crawler.detect.scanner import Scanner

            self.scanner = Scanner(self.rules, use_hyperscan=False)
        msg = record.getMessage()
        raw = msg.encode("utf-8", "surrogateescape")
        matches = self.scanner.scan(raw)
        if matches:
            spans = sorted(((a, b, m) for m in matches for a, b in m.spans), key=lambda s: s[0], reverse=True)
            for a, b, m in spans:
                raw = raw[:a] + (m.redacted.encode("utf-8") if a == m.start else b"[redacted]") + raw[b:]
            record.msg, record.args = raw.decode("utf-8", "replace"), None
        return True


def scrub_with(rules: Sequence[Rule]) -> None:
    """Give the scrubbing filter of every root handler the rules of the loaded config."""
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, ScrubFilter):
                flt.set_rules(rules)


def setup_logging(fmt: str = "human", level: int = logging.INFO, rules: Sequence[Rule] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(ScrubFilter(rules))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A skipped tick means "this source is still polling": intended (no overlapping runs), not a warning.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
