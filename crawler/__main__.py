from __future__ import annotations

from crawler.cli import run

run()
