"""What every command handler shares: printing, exit codes, loading the config, running a coroutine.

Handler modules import from here and never from the parser (``crawler.cli.parser``), which imports
them. Only ``out``/``err`` print; errors are raised as :class:`~crawler.kernel.errors.LeakpatrolError`
and turned into a message and exit code 2 by ``crawler.cli.main``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from crawler.kernel import lazylog

if TYPE_CHECKING:
    from crawler.config.model import Config
    from crawler.detect.rules import Rule

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2
Handler = Callable[[argparse.Namespace], int]
T = TypeVar("T")


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


def listed(rows: list[dict[str, Any]], key: str, fmt: str, empty: str) -> bool:
    """Print ``rows`` as the versioned JSON document (``fmt == "json"``) or ``empty`` when there are
    none; True when that was all there is to print (the caller prints a table otherwise)."""
    if fmt == "json":
        out(json.dumps({"version": 1, key: rows}, indent=2, ensure_ascii=False))
        return True
    if not rows:
        out(empty)
        return True
    return False


def load(path: str | None) -> Config:
    """Load the config (``-c FILE``, ``$LEAKPATROL_CONFIG`` or ``./leakpatrol.toml``; a missing or
    invalid one raises ``ConfigError``) and let the log scrubber know its organisation rules too."""
    from crawler.detect.rules import load_rules
    from crawler.plugins import load_config

    cfg = load_config(path)
    scrub_logs_with(load_rules(cfg))
    return cfg


def scrub_logs_with(rules: Sequence[Rule]) -> None:
    """Give the log scrubber these rules: now, or as soon as ``scan``'s deferred logging is set up
    (:mod:`crawler.kernel.lazylog`), before its first record."""
    def give() -> None:
        from crawler.engine.logs import scrub_with

        scrub_with(rules)

    lazylog.after_setup(give)


def load_if_present(path: str | None) -> Config | None:
    """For ``scan`` and ``token``, which also work without a config: the named one (``-c`` or
    ``$LEAKPATROL_CONFIG``, which must exist), else ``./leakpatrol.toml`` if it exists, else ``None``."""
    from crawler.config.loading import config_path

    explicit = path or os.environ.get("LEAKPATROL_CONFIG")
    if explicit or config_path(None).exists():
        return load(explicit)
    return None


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run the daemon-side commands on uvloop where it is installed (a faster event loop; the
    daemon spends its time in network I/O), else on asyncio's own loop."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
