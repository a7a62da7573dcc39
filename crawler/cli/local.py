"""The commands that work on local files and need no daemon: init, check, scan, token, rules."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crawler.cli.common import EXIT_FOUND, EXIT_OK, EXIT_USAGE, err, load, load_if_present, out
from crawler.kernel import lazylog

if TYPE_CHECKING:
    from crawler.cli.walk import Listing
    from crawler.detect.rules import Rule

logger = lazylog.Logger(__name__)


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crawler.detect.rules import DATA_DIR
    from crawler.kernel.partner import DeploymentKey
    from crawler.store.crypto import write_key_file

    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    cfg_path = target / "leakpatrol.toml"
    if cfg_path.exists():
        err(f"leakpatrol: {cfg_path} already exists; not overwriting it")
        return EXIT_USAGE
    cfg_path.write_text((DATA_DIR / "leakpatrol.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (target / "data").mkdir(exist_ok=True)
    key = target / "data" / "leakpatrol.key"
    if key.exists():
        out(f"kept existing key {key}")
    else:
        write_key_file(key)
        out(f"wrote {key} (mode 0600) — back it up: without it stored tokens cannot be read")
    signing = DeploymentKey("", target / "data" / "leakpatrol-signing.pem")
    if signing.create_if_missing():
        out(f"wrote {signing.path} (mode 0600) — signs github_partner alerts; receivers fetch its public "
            "half from the daemon's /meta/public_keys/secret_scanning")
    else:
        out(f"kept existing signing key {signing.path}")
    out(f"wrote {cfg_path}")
    out(f"next: edit it, then `leakpatrol check -c {cfg_path}`")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from crawler.cli.describe import describe

    for line in describe(load(args.config)):
        out(line)
    return EXIT_OK


def start_listing(args: argparse.Namespace) -> Listing | None:
    """The listing of ``scan``'s paths, started at once in a thread: git lists the files while the
    rest is imported and the rules load (``main`` calls this before it sets up logging, whose imports
    take a good part of the start-up). ``None`` for stdin, ``--staged``/``--git`` or a missing path."""
    from crawler.cli.walk import Listing

    paths = args.paths or ["."]
    if not (args.staged or args.git) and "-" not in paths and all(os.path.lexists(p) for p in paths):
        return Listing(list(paths), args.no_ignore, args.follow_symlinks)
    return None


def cmd_scan(args: argparse.Namespace) -> int:
    paths = args.paths or ["."]
    listing = args.listing if "listing" in args else start_listing(args)
    from crawler.cli.inputs import Limits
    from crawler.cli.output import to_json, to_sarif, to_text
    from crawler.cli.rulecache import scan_rules
    from crawler.cli.scan import default_jobs, scan_paths, verify_findings
    from crawler.cli.scanstats import load_baseline, write_baseline
    from crawler.detect.rules import load_rules

    # Without --verify only the rules matter: read them from the cache when nothing changed (fast start).
    cfg = load_if_present(args.config) if args.verify else None
    rules = load_rules(cfg) if args.verify else scan_rules(args.config)
    if "-" in paths and len(paths) > 1:
        err("leakpatrol: error: '-' (stdin) cannot be combined with paths")
        return EXIT_USAGE
    if (args.staged or args.git) and (len(paths) > 1 or paths == ["-"]):
        err("leakpatrol: error: --staged and --git take one PATH: the repository (default: .)")
        return EXIT_USAGE
    missing = [p for p in paths if p != "-" and not os.path.lexists(p)]
    if missing:
        err(f"leakpatrol: error: {missing[0]}: no such file or directory")
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        err("leakpatrol: error: -j must be at least 1")
        return EXIT_USAGE
    baseline = load_baseline(args.baseline) if args.baseline else None
    if args.write_baseline:  # a rewritten baseline holds every current finding, the known ones too
        baseline = None
    reveal = args.reveal or args.verify
    limits = Limits(max_file_size=args.max_file_size, archive_depth=args.max_archive_depth,
                    archive_bytes=args.max_archive_bytes)
    if args.staged or args.git:
        from crawler.cli.gitscan import scan_history, scan_staged
    if args.staged:
        result = scan_staged(paths[0], rules, limits=limits, baseline=baseline, reveal=reveal)
    elif args.git:
        result = scan_history(paths[0], args.git, rules, baseline=baseline, reveal=reveal)
    else:
        progress = sys.stderr if sys.stderr.isatty() and args.format == "text" and paths != ["-"] else None
        result = scan_paths(paths, rules, limits=limits, baseline=baseline, reveal=reveal,
                            jobs=args.jobs or default_jobs(), no_ignore=args.no_ignore,
                            follow_symlinks=args.follow_symlinks, progress=progress, listing=listing)
    findings = result.findings
    if args.verify and findings:
        lazylog.ready()  # the HTTP client logs through logging itself: scrubbed like every record
        findings = verify_findings(findings, cfg, rules)
    if not args.reveal:
        findings = [f._replace(revealed=None) if f.revealed is not None else f for f in findings]
    if args.write_baseline:
        write_baseline(args.write_baseline, findings)
        err(result.stats.summary())
        err(f"wrote {len(findings)} fingerprints to {args.write_baseline}")
        return EXIT_OK
    colour = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    stats = result.stats.as_json()
    if args.format == "json":
        text = to_json(findings, stats)
    elif args.format == "sarif":
        text = to_sarif(findings, stats, [(s.path, s.why) for s in result.stats.skipped])
    else:
        text = to_text(findings, colour=colour)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        out(text)
    for skipped in result.stats.skipped:
        logger.debug("skipped %s: %s", skipped.path, skipped.why)
    err(result.stats.summary())
    return EXIT_FOUND if findings else EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from crawler.detect.mint import mint
    from crawler.detect.rules import find_rule, load_rules

    rules = load_rules(load_if_present(args.config))
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


def cmd_rules(args: argparse.Namespace) -> int:
    """``rules check``: the built-in pack (and the config's organisation rules, if a config is given
    or found) proves its examples; ``rules list``: one line per rule."""
    from crawler.detect.check import check_rules
    from crawler.detect.rules import load_rules

    rules = load_rules(load_if_present(args.config))
    if args.rules_command == "list":
        for r in rules:
            pair = " (paired)" if r.paired else ""
            out(f"{r.id}\t{r.severity}\t{r.verifier or '-'}\t{r.checksum}{pair}")
        return EXIT_OK
    problems = check_rules(rules)
    for p in problems:
        err(str(p))
    examples = sum(len(r.examples) + len(r.negative_examples) for r in rules)
    out(f"{len(rules)} rules, {examples} examples and negative examples checked: "
        + (f"{len(problems)} problem(s)" if problems else "all hold"))
    return EXIT_FOUND if problems else EXIT_OK


def _token_check(token: str, rules: Sequence[Rule]) -> int:
    from crawler.detect.redaction import redact
    from crawler.detect.scanner import Scanner

    data = token.strip().encode("utf-8", "surrogateescape")
    for m in Scanner(rules, use_hyperscan=False).scan(data):
        if m.start == 0 and m.token == data:
            out(f"{m.redacted}: well-formed {m.rule.id} token" + (", checksum ok" if m.rule.checksum != "none" else ""))
            return EXIT_OK
    for rule in rules:
        if data.startswith(rule.prefix_bytes):
            shown = redact(data, rule.prefix)
            checker = Scanner([rule], use_hyperscan=False)
            checker.scan(data)
            why = "checksum does not hold" if checker.stats.bad_checksum else "body has the wrong length or characters"
            out(f"{shown}: not a valid {rule.id} token: {why}")
            return EXIT_FOUND
    out("no rule matches this token")
    return EXIT_FOUND
