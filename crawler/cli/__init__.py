"""The ``leakpatrol`` command line (also ``python -m crawler``): one parser, one handler table."""

from __future__ import annotations

from crawler.cli.main import main, run

__all__ = ["main", "run"]
