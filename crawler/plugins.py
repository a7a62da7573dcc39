"""The one importer of the plug-in registries (``SOURCES``, ``VERIFIERS``, ``NOTIFIERS``).

It turns the config's plug-in tables into typed specs: each ``[sources.*]``, ``[[verifiers]]`` and
``[[notifiers]]`` table is validated once against its plug-in's ``Options`` model, and the validated
options travel in the config (``Config.source_specs``, ``Config.plugin_options``) to the plug-in's
constructor. The engine and the CLI build plug-ins through here and never name a registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from crawler.config.loading import key_of, parse_config, read_config, unknown, validation_problem
from crawler.config.model import Config, NotifierConfig, PluginModel, PluginOptions, SourceSpec, VerifierConfig
from crawler.detect.rules import builtin_rule_ids
from crawler.kernel.errors import ConfigError
from crawler.notifiers import NOTIFIERS
from crawler.notifiers.base import Notifier
from crawler.store.runtime import deployment_key
from sources import SOURCES
from sources.base import Source, SourceOptions
from verifiers import VERIFIERS
from verifiers.base import Verifier

__all__ = [
    "NOTIFIERS", "SOURCES", "VERIFIERS", "build_config", "load_config", "make_notifier", "make_verifier",
    "needs_signing_key", "source_of", "validate",
]


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                required: bool = True) -> Config:
    """Read the file (:func:`crawler.config.loading.read_config`) and validate its plug-in tables."""
    cfg = read_config(path, environ=environ, required=required)
    return validate(cfg, cfg.path or "config")


def build_config(data: dict[str, Any], *, file: Path | None = None) -> Config:
    """Validate a parsed TOML document, plug-in tables included."""
    return validate(parse_config(data, file=file), str(file) if file else "config")


def validate(cfg: Config, where: str) -> Config:
    """Check every plug-in table against its plug-in; return the config with the typed specs."""
    options: dict[str, PluginOptions] = {}
    tables: tuple[tuple[str, Sequence[PluginModel], Mapping[str, Any]], ...] = (
        ("verifier", cfg.verifiers, VERIFIERS), ("notifier", cfg.notifiers, NOTIFIERS))
    for what, entries, registry in tables:
        for i, entry in enumerate(entries):
            kind = str(getattr(entry, "kind", ""))
            plugin = registry.get(kind)
            if plugin is None:
                raise ConfigError(unknown(kind, list(registry), f"{what} kind"), file=where, key=f"{what}s[{i}].kind")
            options[f"{what}s.{getattr(entry, 'id', '')}"] = _options(plugin.Options, entry.extras(), where,
                                                                     [f"{what}s", i])
    specs = _source_specs(cfg, where)
    _cross_check(cfg, where)
    return cfg.model_copy(update={"source_specs": specs, "plugin_options": options})


def _options(model: type[PluginOptions], data: Mapping[str, Any], where: str, loc: list[int | str]) -> PluginOptions:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        key, problem = validation_problem(exc, model, loc)
        raise ConfigError(problem, file=where, key=key) from None


def _source_specs(cfg: Config, where: str) -> list[SourceSpec]:
    specs: list[SourceSpec] = []
    for name, table in cfg.sources.items():
        scls = SOURCES.get(name)
        if scls is None:
            raise ConfigError(unknown(name, list(SOURCES), "source"), file=where, key=f"sources.{name}")
        tables = table if isinstance(table, list) else [table]
        if scls.multi != isinstance(table, list):
            form = "[[sources.%s]] (a list of tables)" if scls.multi else "[sources.%s] (one table)"
            raise ConfigError(f"write it as {form % name}", file=where, key=f"sources.{name}")
        for i, one in enumerate(tables):
            loc: list[int | str] = ["sources", name, i] if isinstance(table, list) else ["sources", name]
            if not isinstance(one, dict):
                raise ConfigError("expected a table", file=where, key=key_of(loc))
            opts = _options(scls.Options, one, where, loc)
            if getattr(opts, "enabled", True):
                specs.append(SourceSpec(name=str(getattr(opts, "name", None) or name), kind=name, options=opts))
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"two sources are named {spec.name!r}", file=where, key=f"sources.{spec.kind}")
        seen.add(spec.name)
    return specs


def _cross_check(cfg: Config, where: str) -> None:
    """Rules name known verifiers; notifiers name known rules (configured or built in)."""
    rule_ids = [r.id for r in cfg.rules]
    verifier_ids = [v.id for v in cfg.verifiers]
    for i, rule in enumerate(cfg.rules):
        if rule.verifier and rule.verifier not in verifier_ids and rule.verifier not in VERIFIERS:
            raise ConfigError(unknown(rule.verifier, verifier_ids, "verifier"), file=where, key=f"rules[{i}].verifier")
    for i, note in enumerate(cfg.notifiers):
        for rid in note.rules or []:
            if rid not in rule_ids and rid not in builtin_rule_ids():
                raise ConfigError(unknown(rid, rule_ids, "rule"), file=where, key=f"notifiers[{i}].rules")
    kinds = {n.id: n.kind for n in cfg.notifiers}
    for nid in cfg.report.notify:
        if nid in kinds and not NOTIFIERS[kinds[nid]].carries_reports:
            raise ConfigError(f"notifier {nid!r} ({kinds[nid]}) has no form for the weekly report",
                              file=where, key="report.notify")


# ---- building plug-ins ----------------------------------------------------------------------


def source_of(spec: SourceSpec) -> tuple[type[Source], SourceOptions]:
    """The registered source class of a spec and its validated options."""
    cls = SOURCES[spec.kind]
    if not isinstance(spec.options, cls.Options):
        raise TypeError(f"source {spec.name!r}: options are {type(spec.options).__name__}, not {cls.Options.__name__}")
    return cls, spec.options


def verifier_config(cfg: Config | None, name: str) -> VerifierConfig | None:
    """The ``[[verifiers]]`` table ``name``, or a provider verifier of that kind with its defaults."""
    vc = cfg.verifier(name) if cfg else None
    if vc is None and name in VERIFIERS:
        vc = VerifierConfig(id=name, kind=name)
    return vc if vc is not None and vc.kind in VERIFIERS else None


def make_verifier(cfg: Config | None, vc: VerifierConfig, client: httpx.AsyncClient) -> Verifier:
    options = cfg.options_of("verifiers", vc.id) if cfg else None
    return VERIFIERS[vc.kind](vc, client, options)


def needs_signing_key(cfg: Config) -> bool:
    """Whether a configured notifier signs with the deployment's key (``github_partner``)."""
    return any(NOTIFIERS[nc.kind].signs_with_deployment_key for nc in cfg.notifiers if nc.kind in NOTIFIERS)


def make_notifier(cfg: Config | None, nc: NotifierConfig, client: httpx.AsyncClient | None) -> Notifier:
    """``client`` may be ``None`` only to ask :meth:`Notifier.missing_credentials` (``check``)."""
    options = cfg.options_of("notifiers", nc.id) if cfg else None
    return NOTIFIERS[nc.kind](nc, client, options, deployment_key=deployment_key(cfg) if cfg else None)  # type: ignore[arg-type]

