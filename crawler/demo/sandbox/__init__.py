"""A loopback sandbox speaking the real formats of the public sources and of a token issuer.

Used by the end-to-end tests, ``leakpatrol demo`` and ``bench/``. Everything runs on one ephemeral
``127.0.0.1`` port; see :mod:`crawler.demo.sandbox.server` for the layout and
:mod:`sources.fakes.service` for fault injection and the request log.
"""

from __future__ import annotations

from crawler.demo.sandbox.config import render_config, sandbox_environment
from crawler.demo.sandbox.issuer import IssuerService
from crawler.demo.sandbox.server import DEMO_RULE, Sandbox, SandboxThread, SandboxUrls
from sources.fakes.github import GitHubService
from sources.fakes.gitlab import GitLabService
from sources.fakes.pastes import PastebinService, PasteSiteService
from sources.fakes.service import Published, RequestRecord

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
