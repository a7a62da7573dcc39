"""Loggers for ``leakpatrol scan``'s path that import :mod:`logging` only when a record is due.

A clean scan logs nothing, and importing :mod:`logging` (with ``traceback``, ``linecache``,
``tokenize``, ``string``) and setting up its scrubbing handler were a good part of the start-up a
pre-commit hook pays on every commit. So the CLI *defers* its set-up (:func:`defer`): the first
record at or above the level it asked for runs the set-up, then everything queued after it
(:func:`after_setup`: the scrubber's rules), and only then is logged, through the same scrubbing
handler as ever. Records below that level are dropped without importing anything.

Code that logs through :mod:`logging` directly (a third-party library) is preceded by :func:`ready`.
With nothing deferred (the daemon, tests, library use) a :class:`Logger` is a thin front for
``logging.getLogger(name)``: every record goes to :mod:`logging`, whose own levels and handlers
decide, and :func:`after_setup` runs its function at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
""":mod:`logging`'s levels (the same numbers, without importing it)."""

_pending: list[Callable[[], None]] = []
"""The deferred set-up, then what waits for it; empty once it has run (or when nothing is deferred)."""
_threshold = 0


def defer(setup: Callable[[], None], level: int) -> None:
    """Run ``setup`` (which imports and configures :mod:`logging`) when the first record at ``level``
    or above comes; drop the records below ``level`` until then."""
    global _threshold
    _pending[:] = [setup]
    _threshold = level


def after_setup(fn: Callable[[], None]) -> None:
    """Run ``fn`` once logging is set up: now when nothing is deferred, else right after the set-up."""
    if _pending:
        _pending.append(fn)
    else:
        fn()


def reset() -> None:
    """Forget a deferred set-up that never ran (the command is over; an in-process caller's logging is
    left as it was) and let every record through again."""
    global _threshold
    _pending.clear()
    _threshold = 0


def ready() -> None:
    """Run the deferred set-up now, and what waits for it: before code that logs through
    :mod:`logging` itself (``scan --verify``'s HTTP client), whose records must be scrubbed too."""
    while _pending:
        _pending.pop(0)()


class Logger:
    """``logging.getLogger(name)``, imported and set up on the first record that is due."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level < _threshold:
            return
        ready()
        import logging

        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # the caller's line, not this one
        logging.getLogger(self.name).log(level, msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(WARNING, msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(ERROR, msg, *args, **kwargs)
