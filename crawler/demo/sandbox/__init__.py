"""A loopback sandbox speaking the real formats of the public sources and of a token issuer.

Used by the end-to-end tests, ``leakpatrol demo`` and ``bench/``. Everything runs on one ephemeral
``127.0.0.1`` port; the fake services come from :data:`sources.fakes.FAKES` (see
:mod:`crawler.demo.sandbox.server` for the layout and :mod:`sources.fakes.service` for fault
injection and the request log).
"""

from __future__ import annotations

from crawler.demo.sandbox.config import environment, render_config
from crawler.demo.sandbox.issuer import IssuerService
from crawler.demo.sandbox.server import DEMO_RULE, Sandbox
from crawler.demo.sandbox.thread import SandboxThread
from sources.fakes import FAKES, Published, RequestRecord, SourceTable

__all__ = [
    "DEMO_RULE",
    "FAKES",
    "IssuerService",
    "Published",
    "RequestRecord",
    "Sandbox",
    "SandboxThread",
    "SourceTable",
    "environment",
    "render_config",
]
