"""The whole ``leakpatrol`` argument parser and the one table from command to handler.

Handlers live in ``crawler.cli.local`` (init, check, scan, token, rules) and ``crawler.cli.daemon`` (crawl,
exposures, run, report, demo, receiver); they never import this module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from crawler import __version__
from crawler.cli.common import EXIT_USAGE, Handler, err
from crawler.cli.local import cmd_check, cmd_init, cmd_rules, cmd_scan, cmd_token


def _daemon(name: str) -> Handler:
    """A daemon-side handler, imported when its command runs (``scan`` does not load that module)."""

    def handler(args: argparse.Namespace) -> int:
        from crawler.cli import daemon

        result: int = getattr(daemon, name)(args)
        return result

    handler.__name__ = name
    return handler


def _cmd_notifiers(args: argparse.Namespace) -> int:
    from crawler.cli.notifiers import cmd_notifiers  # its clock and store are not on scan's path

    return cmd_notifiers(args)


HANDLERS: dict[str, Handler] = {
    "init": cmd_init, "check": cmd_check, "scan": cmd_scan, "token": cmd_token, "rules": cmd_rules,
    "crawl": _daemon("cmd_crawl"), "exposures": _daemon("cmd_exposures"), "run": _daemon("cmd_run"),
    "report": _daemon("cmd_report"), "demo": _daemon("cmd_demo"), "receiver": _daemon("cmd_receiver"),
    "notifiers": _cmd_notifiers,
}


def _columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (and the compression modules
    it imports): ``$COLUMNS``, else the terminal's width, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, made for every ``add_argument``; its width found as argparse would."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        err(f"leakpatrol: error: {message}")
        sys.exit(EXIT_USAGE)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="FILE",
                   help="config file (default: $LEAKPATROL_CONFIG or ./leakpatrol.toml)")


def _size(text: str) -> int:
    """``1048576``, ``512k``, ``50M``, ``2G`` (powers of 1024)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    try:
        n = int(t[:-1]) * units[t[-1]] if t and t[-1] in units else int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use bytes or e.g. 512k, 50M, 2G)") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (must be positive)")
    return n


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; for a command line starting with ``scan``, the top level and scan alone
    (every ``add_argument`` costs start-up time, which a pre-commit hook pays on each commit; such a
    command line parses the same either way)."""
    parser = _Parser(prog="leakpatrol", description="Self-hosted public-leak monitor for API-token issuers.")
    parser.add_argument("--version", action="version", version=f"leakpatrol {__version__}")
    parser.add_argument("--log-format", choices=["human", "json"], default="human")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if argv and argv[0] == "scan":
        _scan_command(sub)
    else:
        _local_commands(sub)
        _daemon_commands(sub)
    return parser


def _local_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("init", help="write leakpatrol.toml, data/ and a 0600 key file")
    p.add_argument("dir", nargs="?", default=".")

    p = sub.add_parser("check", help="validate the config and print what will run")
    _config_arg(p)

    _scan_command(sub)

    p = sub.add_parser("token", help="issuer helpers: mint a well-formed token, check one offline")
    tsub = p.add_subparsers(dest="token_command", metavar="mint|check", parser_class=_Parser, required=True)
    tm = tsub.add_parser("mint", help="mint a well-formed (checksummed) token for RULE_ID")
    tm.add_argument("rule_id")
    tm.add_argument("-n", "--count", type=int, default=1)
    _config_arg(tm)
    tc = tsub.add_parser("check", help="say which rule TOKEN matches and whether its checksum holds")
    tc.add_argument("token")
    _config_arg(tc)

    p = sub.add_parser("rules", help="the token rules: check that every rule proves its examples, or list them")
    rsub = p.add_subparsers(dest="rules_command", metavar="check|list", parser_class=_Parser, required=True)
    for name, what in (("check", "every example matches, no negative does, checksums hold; exit 1 on a problem"),
                       ("list", "one line per rule: id, severity, verifier, checksum")):
        _config_arg(rsub.add_parser(name, help=what))


def _scan_command(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("scan", help="scan files, directories or stdin (exit 0 clean, 1 findings, 2 error)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories, or - for stdin (default: .)")
    _config_arg(p)
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    p.add_argument("--verify", action="store_true", help="ask each rule's verifier whether tokens are live (network)")
    p.add_argument("--reveal", action="store_true", help="print tokens in plaintext (default: redacted)")
    p.add_argument("--baseline", metavar="FILE", help="ignore findings whose fingerprint is in FILE")
    p.add_argument("--write-baseline", metavar="FILE", help="write the findings' fingerprints to FILE, exit 0")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true", help="scan exactly the staged content (for pre-commit)")
    mode.add_argument("--git", nargs="?", const="HEAD", metavar="RANGE",
                      help="scan the patches of git history (default HEAD), removed lines included")
    p.add_argument("--no-ignore", action="store_true", help="in a git work tree, read ignored files too")
    p.add_argument("--follow-symlinks", action="store_true", help="follow links that lead out of a scanned folder")
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="processes to scan with (default: the cores available)")
    p.add_argument("--max-file-size", type=_size, metavar="SIZE", help="skip (and count) files larger than SIZE "
                   "(e.g. 50M; default: no limit)")
    p.add_argument("--max-archive-depth", type=int, default=3, metavar="N",
                   help="archives inside archives are opened down to N levels (default 3)")
    p.add_argument("--max-archive-bytes", type=_size, default=1 << 30, metavar="SIZE",
                   help="decompressed bytes read from one archive (default 1G); a bigger one is skipped")


def _daemon_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    from crawler.kernel.status import STATUSES

    p = sub.add_parser("crawl", help="one poll of each (or one) source through the whole pipeline, then exit")
    _config_arg(p)
    p.add_argument("--source", metavar="NAME")

    p = sub.add_parser("exposures", help="list findings, redacted")
    _config_arg(p)
    p.add_argument("--status", choices=[s.value for s in STATUSES], action="append")
    p.add_argument("--since", metavar="DURATION", help="first seen within this window, e.g. 7d")
    p.add_argument("--format", choices=["table", "json"], default="table")

    p = sub.add_parser("notifiers", help="each notifier's state; `notifiers enable ID` re-enables a disabled one")
    _config_arg(p)
    p.add_argument("--format", choices=["table", "json"], default="table")
    nsub = p.add_subparsers(dest="notifiers_command", metavar="enable", parser_class=_Parser)
    ne = nsub.add_parser("enable", help="re-enable notifier ID (its endpoint disabled it); its deliveries resume")
    ne.add_argument("id")
    ne.add_argument("-c", "--config", dest="enable_config", metavar="FILE", help="config file (as above)")

    p = sub.add_parser("run", help="the daemon: every enabled source on its interval, verify, notify, report")
    _config_arg(p)

    p = sub.add_parser("report", help="the exposure report (HTML, Markdown or JSON)")
    _config_arg(p)
    window = p.add_mutually_exclusive_group()
    window.add_argument("--week", metavar="YYYY-Www", help="an ISO week, e.g. 2026-W48 (default: the last full week)")
    window.add_argument("--since", metavar="DURATION", help="a window ending now, e.g. 7d")
    p.add_argument("--format", choices=["html", "md", "json"], default="html")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")

    p = sub.add_parser("demo", help="the whole loop on a loopback sandbox: no credentials, no network")
    p.add_argument("dir", nargs="?", default="leakpatrol-demo")
    p.add_argument("--seconds", type=float, default=30.0, help="how long to keep planting tokens (default 30)")

    p = sub.add_parser("receiver", help="reference issuer-side receiver (Standard Webhooks + GitHub partner alerts)")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8787")
    p.add_argument("--secret-env", metavar="NAME", required=True, help="variable holding the whsec_… secret")
    hook = p.add_mutually_exclusive_group(required=True)
    hook.add_argument("--exec", metavar="CMD", dest="exec_cmd",
                      help="revocation command; gets the event JSON on stdin and LEAKPATROL_TOKEN in its env")
    hook.add_argument("--handler", metavar="MOD:FUNC", help="Python callable taking the event dict")
    p.add_argument("--state", metavar="FILE", help="SQLite file remembering delivered webhook-ids")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--github-keys-url", metavar="URL",
                      help="public keys of partner alerts on POST /github/secret-scanning (default: GitHub's, "
                           "https://api.github.com/meta/public_keys/secret_scanning; a leakpatrol daemon's: "
                           "http://HOST:PORT/meta/public_keys/secret_scanning)")
    keys.add_argument("--github-keys-file", metavar="FILE", help="the same keys document from a file (offline)")
