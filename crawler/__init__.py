"""leakpatrol: a self-hosted public-leak monitor for API-token issuers."""

from __future__ import annotations

__version__ = "0.1.0"
