"""``leakpatrol check``: what a valid config will run, in plain words."""

from __future__ import annotations

from collections.abc import Iterator

from crawler.config.model import Config, secret
from crawler.detect.rules import load_rules
from crawler.kernel.durations import format_duration
from crawler.plugins import make_notifier, source_of


def describe(cfg: Config) -> Iterator[str]:
    rules = load_rules(cfg)
    org = [r for r in rules if not r.builtin]
    yield f"config   {cfg.path} (valid)"
    yield f"storage  {cfg.storage.url.split('@')[-1]}  key: ${cfg.storage.key_env} or {cfg.storage.key_file}"
    yield f"rules    {len(org)} organisation rule(s), {len(rules) - len(org)} built-in"
    for r in org:
        length = str(r.min_len) if r.min_len == r.max_len else f"{r.min_len}-{r.max_len}"
        yield f"  - {r.id}: {r.prefix}<{r.charset} × {length}> checksum={r.checksum} verifier={r.verifier or '-'}"
    for v in cfg.verifiers:
        yield f"verifier {v.id} ({v.kind}), concurrency {v.concurrency}"
    for n in cfg.notifiers:
        problem = make_notifier(cfg, n, None).missing_credentials()
        state = f"  ! {problem}" if problem else ""
        yield f"notifier {n.id} ({n.kind}) on {', '.join(n.on)}{state}"
    if not cfg.source_specs:
        yield "sources  none enabled"
    for spec in cfg.source_specs:
        cls, options = source_of(spec)
        problem = cls.missing_credentials(options)
        state = f"disabled: {problem}" if problem else f"every {format_duration(options.interval)}"
        yield f"source   {spec.name} ({spec.kind}) {state}"
    yield f"verify   re-check live tokens every {format_duration(cfg.verification.recheck)}"
    if cfg.report.weekly:
        yield f"report   weekly at {cfg.report.weekly} → {cfg.report.out_dir}" + (
            f", sent to {', '.join(cfg.report.notify)}" if cfg.report.notify else "")
    if cfg.server.listen:
        yield f"server   http://{cfg.server.listen}/healthz, /metrics and /meta/public_keys/secret_scanning"
    _ = secret  # secrets are never printed, only whether they are set
