"""Log handlers (only the CLI configures logging): human by default, JSON with ``--log-format json``.

A last line of defence scrubs anything that looks like a token of a loaded rule out of every record,
*fully formatted* (message, arguments, traceback and stack), in every formatter; the code itself only
ever logs redacted forms. :class:`Scrubber` is also what the engine runs over error details
(``last_error``, a delivery's error) *before* they are cut to length, so no cut keeps part of a token.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

from crawler.detect.rules import Rule


class Scrubber:
    """Replaces every token of the given rules in a text with its redacted form."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.scanner: Any = None
        self.rules: Sequence[Rule] = ()
        self.set_rules(rules)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Use these rules from now on; their scanner is compiled when the first text comes (a
        ``scan`` that logs nothing does not pay for it)."""
        self.rules, self.scanner = list(rules), None

    def __call__(self, text: str) -> str:
        if not self.rules or not text:
            return text
        if self.scanner is None:
            from crawler.detect.scanner import Scanner

            self.scanner = Scanner(self.rules, use_hyperscan=False)
        raw = text.encode("utf-8", "surrogateescape")
        matches = self.scanner.scan(raw)
        if not matches:
            return text
        # A paired rule's match has several spans (the token and its companion): each one goes.
        spans = sorted(((a, b, m) for m in matches for a, b in m.spans), key=lambda s: s[0], reverse=True)
        for a, b, m in spans:
            raw = raw[:a] + (m.redacted.encode("utf-8") if a == m.start else b"[redacted]") + raw[b:]
        return raw.decode("utf-8", "replace")

    def cut(self, text: str, limit: int) -> str:
        """Scrubbed first, then cut to ``limit`` characters (a cut token would escape the scrub)."""
        return self(text)[:limit]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
               "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False)


class ScrubbingFormatter(logging.Formatter):
    """Formats with ``inner``, then scrubs the whole result: message, traceback and stack alike."""

    def __init__(self, inner: logging.Formatter, scrubber: Scrubber) -> None:
        super().__init__()
        self.inner, self.scrubber = inner, scrubber

    def format(self, record: logging.LogRecord) -> str:
        return self.scrubber(self.inner.format(record))


class ScrubFilter(logging.Filter):
    """Scrubs the message of a record early, for handlers that format it elsewhere; the handlers
    :func:`setup_logging` installs also scrub the fully formatted record (:class:`ScrubbingFormatter`)."""

    def __init__(self, rules: Sequence[Rule], scrubber: Scrubber | None = None) -> None:
        super().__init__()
        self.scrubber = scrubber or Scrubber()
        self.set_rules(rules)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        self.scrubber.set_rules(rules)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self.scrubber(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


def scrub_with(rules: Sequence[Rule]) -> None:
    """Give the scrubbing filter of every root handler the rules of the loaded config."""
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, ScrubFilter):
                flt.set_rules(rules)


def make_handler(fmt: str = "human", rules: Sequence[Rule] = (), stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``fmt`` records to ``stream`` (stderr), scrubbed early and once formatted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    scrubber = Scrubber()
    inner = JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    handler.setFormatter(ScrubbingFormatter(inner, scrubber))
    handler.addFilter(ScrubFilter(rules, scrubber))
    return handler


def setup_logging(fmt: str = "human", level: int = logging.INFO, rules: Sequence[Rule] = ()) -> None:
    handler = make_handler(fmt, rules)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A skipped tick means "this source is still polling": intended (no overlapping runs), not a warning.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
