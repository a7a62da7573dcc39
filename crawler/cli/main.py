"""The ``leakpatrol`` command line (also ``python -m crawler``).

Only this module (and the ``out``/``err`` helpers) prints. Errors name the file, the key and the
problem; no tracebacks. Exit codes: 0 success / nothing found, 1 findings or a failed source,
2 usage or config error.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from crawler import __version__
from crawler.kernel.errors import LeakpatrolError

logger = logging.getLogger(__name__)
EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        err(f"leakpatrol: error: {message}")
        sys.exit(EXIT_USAGE)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", metavar="FILE",
                   help="config file (default: $LEAKPATROL_CONFIG or ./leakpatrol.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="leakpatrol", description="Self-hosted public-leak monitor for API-token issuers.")
    parser.add_argument("--version", action="version", version=f"leakpatrol {__version__}")
    parser.add_argument("--log-format", choices=["human", "json"], default="human")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("init", help="write leakpatrol.toml, data/ and a 0600 key file")
    p.add_argument("dir", nargs="?", default=".")

    p = sub.add_parser("check", help="validate the config and print what will run")
    _config_arg(p)

    p = sub.add_parser("scan", help="scan files, directories or stdin (exit 0 clean, 1 findings, 2 error)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories, or - for stdin (default: .)")
    _config_arg(p)
    p.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    p.add_argument("--verify", action="store_true", help="ask each rule's verifier whether tokens are live (network)")
    p.add_argument("--reveal", action="store_true", help="print tokens in plaintext (default: redacted)")
    p.add_argument("--baseline", metavar="FILE", help="ignore findings whose fingerprint is in FILE")
    p.add_argument("--write-baseline", metavar="FILE", help="write the findings' fingerprints to FILE, exit 0")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")

    p = sub.add_parser("token", help="issuer helpers: mint a well-formed token, check one offline")
    tsub = p.add_subparsers(dest="token_command", metavar="mint|check", parser_class=_Parser, required=True)
    tm = tsub.add_parser("mint", help="mint a well-formed (checksummed) token for RULE_ID")
    tm.add_argument("rule_id")
    tm.add_argument("-n", "--count", type=int, default=1)
    _config_arg(tm)
    tc = tsub.add_parser("check", help="say which rule TOKEN matches and whether its checksum holds")
    tc.add_argument("token")
    _config_arg(tc)

    from crawler.cli.commands import add_commands

    add_commands(sub, _config_arg)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    from crawler.detect.rules import load_rules
    from crawler.engine.logs import setup_logging

    setup_logging(args.log_format, logging.DEBUG if args.verbose else logging.INFO, rules=load_rules(None))
    handler: Callable[[argparse.Namespace], int] = HANDLERS.get(args.command) or _extra_handler(args.command)
    try:
        return handler(args)
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


def _extra_handler(name: str) -> Callable[[argparse.Namespace], int]:
    from crawler.cli.commands import HANDLERS as more

    return more[name]


# ---------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from crawler.detect.rules import DATA_DIR
    from crawler.store.crypto import write_key_file

    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    cfg_path = target / "leakpatrol.toml"
    if cfg_path.exists():
        err(f"leakpatrol: {cfg_path} already exists; not overwriting it")
        return EXIT_USAGE
    shutil.copyfile(DATA_DIR / "leakpatrol.example.toml", cfg_path)
    (target / "data").mkdir(exist_ok=True)
    key = target / "data" / "leakpatrol.key"
    if key.exists():
        out(f"kept existing key {key}")
    else:
        write_key_file(key)
        out(f"wrote {key} (mode 0600) — back it up: without it stored tokens cannot be read")
    out(f"wrote {cfg_path}")
    out(f"next: edit it, then `leakpatrol check -c {cfg_path}`")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from crawler.cli.describe import describe
    from crawler.config.model import Config
    from crawler.plugins import load_config

    cfg: Config = load_config(args.config)
    for line in describe(cfg):
        out(line)
    return EXIT_OK


def _scan_config(args: argparse.Namespace) -> object:
    from crawler.config.loading import config_path
    from crawler.plugins import load_config

    explicit = args.config or os.environ.get("LEAKPATROL_CONFIG")
    if explicit or config_path(None).exists():
        return load_config(explicit)
    return None


def cmd_scan(args: argparse.Namespace) -> int:
    from crawler.cli.output import to_json, to_sarif, to_text
    from crawler.cli.scan import load_baseline, scan_paths, verify_findings, write_baseline
    from crawler.config.model import Config, ScannerConfig
    from crawler.detect.rules import load_rules

    cfg = _scan_config(args)
    assert cfg is None or isinstance(cfg, Config)
    rules = load_rules(cfg)
    cap = (cfg.scanner if cfg else ScannerConfig()).max_document_bytes
    paths = args.paths or ["."]
    if "-" in paths and len(paths) > 1:
        err("leakpatrol: error: '-' (stdin) cannot be combined with paths")
        return EXIT_USAGE
    missing = [p for p in paths if p != "-" and not os.path.exists(p)]
    if missing:
        err(f"leakpatrol: error: {missing[0]}: no such file or directory")
        return EXIT_USAGE
    baseline = load_baseline(args.baseline) if args.baseline else None
    progress = sys.stderr.isatty() and args.format == "text" and paths != ["-"]
    if args.write_baseline:  # a rewritten baseline holds every current finding, the known ones too
        baseline = None
    result = scan_paths(paths, rules, cap=cap, baseline=baseline, reveal=args.reveal or args.verify,
                        progress=progress)
    findings = result.findings
    if args.verify and findings:
        findings = verify_findings(findings, cfg, rules)
    if not args.reveal:
        from dataclasses import replace

        findings = [replace(f, revealed=None) for f in findings]
    if args.write_baseline:
        write_baseline(args.write_baseline, findings)
        err(f"wrote {len(findings)} fingerprints to {args.write_baseline}")
        return EXIT_OK
    colour = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    render = {"json": to_json, "sarif": to_sarif}.get(args.format)
    text = render(findings) if render else to_text(findings, colour=colour)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        out(text)
    for skipped in result.skipped:
        logger.debug("skipped %s: %s", skipped.path, skipped.why)
    return EXIT_FOUND if findings else EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from crawler.config.model import Config
    from crawler.detect.mint import mint
    from crawler.detect.rules import find_rule, load_rules

    cfg = _scan_config(args)
    assert cfg is None or isinstance(cfg, Config)
    rules = load_rules(cfg)
    if args.token_command == "mint":
        rule = find_rule(rules, args.rule_id)
        if rule is None:
            import difflib

            close = difflib.get_close_matches(args.rule_id, [r.id for r in rules], n=1)
            err(f"leakpatrol: unknown rule {args.rule_id!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            return EXIT_USAGE
        for _ in range(max(1, args.count)):
            out(mint(rule))
        return EXIT_OK
    return _token_check(args.token, rules)


def _token_check(token: str, rules: Sequence[object]) -> int:
    from crawler.detect.redaction import redact
    from crawler.detect.rules import Rule
    from crawler.detect.scanner import Scanner

    data = token.strip().encode("utf-8", "surrogateescape")
    typed = [r for r in rules if isinstance(r, Rule)]
    for m in Scanner(typed, use_hyperscan=False).scan(data):
        if m.start == 0 and m.end == len(data):
            out(f"{m.redacted}: well-formed {m.rule.id} token" + (", checksum ok" if m.rule.checksum != "none" else ""))
            return EXIT_OK
    for rule in typed:
        if data.startswith(rule.prefix_bytes):
            shown = redact(data, rule.prefix)
            checker = Scanner([rule], use_hyperscan=False)
            checker.scan(data)
            why = "checksum does not hold" if checker.stats.bad_checksum else "body has the wrong length or characters"
            out(f"{shown}: not a valid {rule.id} token: {why}")
            return EXIT_FOUND
    out("no rule matches this token")
    return EXIT_FOUND


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init, "check": cmd_check, "scan": cmd_scan, "token": cmd_token,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
