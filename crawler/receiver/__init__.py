"""The issuer's reference receiver (``leakpatrol receiver``); embed it with :func:`create_app` or
check a request yourself with :func:`verify_webhook`."""

from __future__ import annotations

from crawler.kernel.errors import HookFailed
from crawler.receiver.app import create_app, verify_webhook

__all__ = ["HookFailed", "create_app", "verify_webhook"]
