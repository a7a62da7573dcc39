"""A loopback sandbox speaking the real formats of the public sources and of a token issuer.

Used by the end-to-end tests, ``leakpatrol demo`` and ``bench/``. Everything runs on one ephemeral
``127.0.0.1`` port; see :mod:`crawler.sandbox.server` for the layout and
:mod:`crawler.sandbox.service` for fault injection and the request log.
"""

from __future__ import annotations

from crawler.sandbox.config import render_config, sandbox_environment
from crawler.sandbox.github import GitHubService
from crawler.sandbox.gitlab import GitLabService
from crawler.sandbox.issuer import IssuerService
from crawler.sandbox.pastes import PastebinService, PasteSiteService
from crawler.sandbox.server import DEMO_RULE, Sandbox, SandboxThread, SandboxUrls
from crawler.sandbox.service import Published, RequestRecord

__all__ = [
    "DEMO_RULE",
    "GitHubService",
    "GitLabService",
    "IssuerService",
    "PasteSiteService",
    "PastebinService",
    "Published",
    "RequestRecord",
    "Sandbox",
    "SandboxThread",
    "SandboxUrls",
    "render_config",
    "sandbox_environment",
]
