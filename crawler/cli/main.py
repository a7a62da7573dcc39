"""The ``leakpatrol`` entry point (also ``python -m crawler``): parse, set up logging, dispatch.

Errors name the file, the key and the problem; no tracebacks. Exit codes: 0 success / nothing
found, 1 findings or a failed source, 2 usage or config error, 130 interrupted, 141 the reader of
stdout went away.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from crawler.cli.common import EXIT_USAGE, err
from crawler.cli.parser import HANDLERS, build_parser
from crawler.kernel import lazylog
from crawler.kernel.errors import LeakpatrolError

logger = lazylog.Logger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    level = lazylog.DEBUG if args.verbose else lazylog.INFO
    if args.command == "scan":
        from crawler.cli.local import start_listing

        args.listing = start_listing(args)  # before the imports below: git lists meanwhile
        # A clean scan logs nothing: logging is imported and set up when its first record is due, and
        # ``scan`` gives the log scrubber its rules itself, from its rule cache (it starts fast).
        lazylog.defer(functools.partial(_setup_logging, args.log_format, level, False), level)
    else:
        _setup_logging(args.log_format, level, True)
    try:
        return HANDLERS[args.command](args)
    except LeakpatrolError as exc:
        err(f"leakpatrol: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:  # `leakpatrol exposures | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it
    except OSError as exc:  # a file named on the command line that cannot be read or written
        logger.debug("%s failed", args.command, exc_info=True)
        err(f"leakpatrol: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        lazylog.reset()


def _setup_logging(fmt: str, level: int, pack: bool) -> None:
    """The log handler, scrubbing the built-in pack's tokens (``pack``) from the start."""
    from crawler.detect.rules import load_rules
    from crawler.engine.logs import setup_logging

    setup_logging(fmt, level, rules=load_rules(None) if pack else [])


def run() -> NoReturn:
    """The console entry point (also ``python -m crawler``): :func:`main`, then exit with its code.

    ``scan`` runs as a short-lived batch job, and two of Python's whole-process costs are left out:

    * the cyclic garbage collector: it ran ~50 times in a scan of 8k files (~8 ms of the process)
      and found nothing to free; the scan path makes no reference cycles per file (after a scan of
      7,866 files there are as many unreachable objects as after one of ten), memory is freed as
      usual by reference counting;
    * the interpreter's clean-up at exit (``os._exit`` once the output is flushed): freeing every
      object one by one takes 10-20 ms, which a pre-commit hook waits for on every commit, and scan
      leaves nothing behind that needs it (its listing thread and worker processes are done, no
      ``atexit`` work is registered).
    """
    scan = sys.argv[1:2] == ["scan"]
    if scan:
        gc.disable()
    code = main()
    if not scan:
        sys.exit(code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left during the last write: as main reports it
        code = 141
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    if "logging" in sys.modules:  # imported only if something was logged
        sys.modules["logging"].shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
