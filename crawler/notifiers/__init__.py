"""Notifiers, one module per channel. The registry is explicit and checked by a test."""

from __future__ import annotations

from crawler.notifiers.base import Notifier
from crawler.notifiers.chat import ChatNotifier
from crawler.notifiers.github_partner import GitHubPartnerNotifier
from crawler.notifiers.webhook import WebhookNotifier

NOTIFIERS: dict[str, type[Notifier]] = {cls.kind: cls for cls in (WebhookNotifier, ChatNotifier, GitHubPartnerNotifier)}

__all__ = ["NOTIFIERS", "Notifier"]
