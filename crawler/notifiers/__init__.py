"""Notifiers, one module per channel. The registry is explicit and checked by a test."""

from __future__ import annotations

from crawler.notifiers.base import Notifier

NOTIFIERS: dict[str, type[Notifier]] = {cls.kind: cls for cls in ()}
