"""The one typed config model (``leakpatrol.toml``), with its defaults documented in place.

Loading is layered: model defaults, then the file, then ``LEAKPATROL_<TABLE>__<KEY>`` environment
overrides, then CLI flags (applied by the CLI). Secrets never sit in the file: keys ending in
``_env`` name an environment variable, read with :func:`secret`.

Plug-in tables (``[sources.*]``, ``[[verifiers]]``, ``[[notifiers]]``) are validated against the
``Options`` model of the registered plug-in of that name/kind, so unknown keys are rejected
everywhere with a did-you-mean suggestion.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from crawler.durations import parse_duration
from crawler.errors import ConfigError

CONFIG_ENV = "LEAKPATROL_CONFIG"
DEFAULT_CONFIG = "leakpatrol.toml"


def _duration(value: object) -> float:
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_duration)]


@functools.lru_cache(maxsize=1024)
def is_loopback_host(host: str | None) -> bool:
    """``localhost``, ``127.0.0.0/8`` and ``::1`` may use plain http."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(value: str) -> str:
    """Every URL is https, except loopback hosts, which may use http."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{value!r} must use https:// (plain http is allowed only on loopback hosts)")
    return value


Url = Annotated[str, AfterValidator(check_url)]
Status = Literal["live", "inactive", "unknown"]


class Model(BaseModel):
    """Base of every config table: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PluginModel(BaseModel):
    """Base of plug-in tables: extra keys are kept here and checked by the plug-in's ``Options``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class StorageConfig(Model):
    url: str = "sqlite:///data/leakpatrol.db"
    """SQLAlchemy URL. ``sqlite:///relative`` resolves against the config file's folder."""
    key_env: str = "LEAKPATROL_KEY"
    """Environment variable holding the encryption key; takes precedence over ``key_file``."""
    key_file: str = "data/leakpatrol.key"
    """Key file written by ``leakpatrol init`` (mode 0600)."""


class ServerConfig(Model):
    listen: str = "127.0.0.1:9464"
    """``HOST:PORT`` for ``/healthz`` and ``/metrics``; empty string turns the server off."""
    unhealthy_after: Duration = 900.0
    """A source failing for longer than this turns ``/healthz`` to 503."""


class HttpConfig(Model):
    connect_timeout: Duration = 5.0
    read_timeout: Duration = 20.0
    max_connections_per_host: int = Field(default=8, ge=1, le=256)
    max_decompressed_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Hard cap on any response body after decompression (documents are capped lower)."""
    transport: Literal["aiohttp", "httpcore"] = "aiohttp"
    """What carries the sources' document fetches under httpx (verifiers and notifiers use httpcore)."""


class ScannerConfig(Model):
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Documents are scanned up to this many bytes (after decompression) and flagged truncated."""
    builtin_rules: bool | list[str] = True
    """``true`` loads the whole built-in pack, ``false`` none, or a list of built-in rule ids."""


class RuleConfig(Model):
    """One token format. A match is ``prefix`` + body (``charset`` × ``length``, or ``regex``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    prefix: str = Field(min_length=2)
    charset: str | None = None
    regex: str | None = None
    length: int | None = Field(default=None, ge=1, le=4096)
    min_length: int | None = Field(default=None, ge=1, le=4096)
    max_length: int | None = Field(default=None, ge=1, le=4096)
    checksum: Literal["none", "crc32-base62"] = "none"
    verifier: str | None = None
    severity: Literal["critical", "high", "medium", "low"] = "high"
    name: str = ""
    reference: str | None = None
    examples: list[str] = []
    negative_examples: list[str] = []


class VerificationConfig(Model):
    recheck: Duration = 3600.0
    """Re-verify live tokens this often; live → inactive records ``revoked_at``."""
    unknown_retry: Duration = 300.0
    """First retry of an ``unknown`` verdict; doubles up to ``unknown_max_backoff``."""
    unknown_max_backoff: Duration = 6 * 3600.0
    unknown_give_up_after: Duration = 7 * 86400.0


class VerifierConfig(PluginModel):
    id: str
    kind: str
    concurrency: int = Field(default=4, ge=1, le=256)
    rate_per_second: float = Field(default=10.0, gt=0)
    timeout: Duration = 10.0


class NotifierConfig(PluginModel):
    id: str
    kind: str
    on: list[Status] = ["live"]
    rules: list[str] | None = None
    """Rules whose tokens this notifier receives; default: every rule."""


class ReportConfig(Model):
    weekly: str = "mon 07:00"
    """``<day> HH:MM`` in the daemon's local time; empty string turns the weekly job off."""
    out_dir: str = "data/reports"
    notify: list[str] = []
    formats: list[Literal["html", "md", "json"]] = ["html", "md", "json"]


class SourceSpec(BaseModel):
    """One enabled source instance after validation (paste sites may have several)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    kind: str
    options: Any


class Config(Model):
    storage: StorageConfig = StorageConfig()
    server: ServerConfig = ServerConfig()
    http: HttpConfig = HttpConfig()
    scanner: ScannerConfig = ScannerConfig()
    rules: list[RuleConfig] = []
    verifiers: list[VerifierConfig] = []
    verification: VerificationConfig = VerificationConfig()
    notifiers: list[NotifierConfig] = []
    sources: dict[str, Any] = {}
    report: ReportConfig = ReportConfig()

    # Filled by the loader, not the file.
    path: str | None = Field(default=None, exclude=True)
    base_dir: str = Field(".", exclude=True)
    source_specs: list[SourceSpec] = Field([], exclude=True)

    def resolve_path(self, value: str) -> Path:
        """A relative path in the config resolves against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def database_url(self) -> str:
        url = self.storage.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve_path(url[len(prefix):]).resolve())
        return url

    def notifier(self, notifier_id: str) -> NotifierConfig | None:
        return next((n for n in self.notifiers if n.id == notifier_id), None)

    def verifier(self, verifier_id: str) -> VerifierConfig | None:
        return next((v for v in self.verifiers if v.id == verifier_id), None)


def secret(env_name: str | None) -> str | None:
    """The value of the environment variable a ``*_env`` key names (``None`` if unset/empty)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


# ---------------------------------------------------------------------------------------------
# loading


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _suggest(model: type[BaseModel] | None, key: str) -> str:
    if model is None:
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(loc: Sequence[int | str], root: type[BaseModel]) -> type[BaseModel] | None:
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        for arg in (*getattr(ann, "__args__", ()), ann):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def validation_problem(exc: ValidationError, root: type[BaseModel],
                       prefix: Sequence[int | str] = ()) -> tuple[str, str]:
    """First error of a pydantic ``ValidationError`` as ``(key, problem)`` with a suggestion."""
    err = exc.errors()[0]
    loc = [*prefix, *err["loc"]]
    key = _loc(loc)
    if err["type"] == "extra_forbidden":
        last = str(err["loc"][-1]) if err["loc"] else ""
        return key, f"unknown key{_suggest(_model_at(err['loc'], root), last)}"
    if err["type"] == "missing":
        return key, "required key is missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    return key, msg


def _env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``LEAKPATROL_STORAGE__URL=…`` overrides ``[storage] url`` (values parsed as TOML when they can be)."""
    for name, raw in environ.items():
        if not name.startswith("LEAKPATROL_") or "__" not in name:
            continue
        table, _, key = name[len("LEAKPATROL_"):].lower().partition("__")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        section = data.setdefault(table, {})
        if isinstance(section, dict):
            section[key] = value
    return data


def config_path(explicit: str | None) -> Path:
    """``-c FILE``, else ``$LEAKPATROL_CONFIG``, else ``./leakpatrol.toml``."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
                required: bool = True) -> Config:
    """Read, validate and resolve a config file; raise :class:`ConfigError` naming file and key."""
    file = config_path(str(path) if path else None)
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", file=str(file)) from None
    elif required:
        raise ConfigError("file not found (run `leakpatrol init` to write one)", file=str(file))
    return build_config(_env_overrides(data, environ), file=file)


def build_config(data: dict[str, Any], *, file: Path | None = None) -> Config:
    """Validate a parsed TOML document into a :class:`Config`."""
    where = str(file) if file else "config"
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        key, problem = validation_problem(exc, Config)
        raise ConfigError(problem, file=where, key=key) from None
    base = str(file.resolve().parent) if file else "."
    specs = _validate_plugins(cfg, where)
    _cross_check(cfg, where)
    return cfg.model_copy(update={"path": str(file) if file else None, "base_dir": base, "source_specs": specs})


def _plugin_options(model: type[BaseModel], data: Mapping[str, Any], where: str, loc: list[int | str]) -> BaseModel:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        key, problem = validation_problem(exc, model, loc)
        raise ConfigError(problem, file=where, key=key) from None


def _unknown(kind: str, known: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(kind, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown {what} {kind!r}{hint}"


def _validate_plugins(cfg: Config, where: str) -> list[SourceSpec]:
    from crawler.notifiers import NOTIFIERS
    from sources import SOURCES
    from verifiers import VERIFIERS

    tables_of_kind: tuple[tuple[str, Sequence[PluginModel], Mapping[str, Any]], ...] = (
        ("verifier", cfg.verifiers, VERIFIERS), ("notifier", cfg.notifiers, NOTIFIERS))
    for what, entries, registry in tables_of_kind:
        for i, entry in enumerate(entries):
            kind = str(getattr(entry, "kind", ""))
            plugin = registry.get(kind)
            if plugin is None:
                raise ConfigError(_unknown(kind, list(registry), f"{what} kind"), file=where,
                                  key=f"{what}s[{i}].kind")
            _plugin_options(plugin.Options, entry.extras(), where, [f"{what}s", i])
    specs: list[SourceSpec] = []
    for name, table in cfg.sources.items():
        scls = SOURCES.get(name)
        if scls is None:
            raise ConfigError(_unknown(name, list(SOURCES), "source"), file=where, key=f"sources.{name}")
        tables = table if isinstance(table, list) else [table]
        if getattr(scls, "multi", False) != isinstance(table, list):
            form = "[[sources.%s]] (a list of tables)" if getattr(scls, "multi", False) else "[sources.%s] (one table)"
            raise ConfigError(f"write it as {form % name}", file=where, key=f"sources.{name}")
        for i, one in enumerate(tables):
            loc: list[int | str] = ["sources", name, i] if isinstance(table, list) else ["sources", name]
            if not isinstance(one, dict):
                raise ConfigError("expected a table", file=where, key=_loc(loc))
            opts = _plugin_options(scls.Options, one, where, loc)
            if getattr(opts, "enabled", True):
                specs.append(SourceSpec(name=str(getattr(opts, "name", None) or name), kind=name, options=opts))
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"two sources are named {spec.name!r}", file=where, key=f"sources.{spec.kind}")
        seen.add(spec.name)
    return specs


def _cross_check(cfg: Config, where: str) -> None:
    rule_ids = [r.id for r in cfg.rules]
    verifier_ids = [v.id for v in cfg.verifiers]
    notifier_ids = [n.id for n in cfg.notifiers]
    for what, ids in (("rules", rule_ids), ("verifiers", verifier_ids), ("notifiers", notifier_ids)):
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ConfigError(f"duplicate id {sorted(dupes)[0]!r}", file=where, key=what)
    from verifiers import VERIFIERS

    for i, rule in enumerate(cfg.rules):
        if rule.verifier and rule.verifier not in verifier_ids and rule.verifier not in VERIFIERS:
            raise ConfigError(_unknown(rule.verifier, verifier_ids, "verifier"), file=where, key=f"rules[{i}].verifier")
    for i, note in enumerate(cfg.notifiers):
        for rid in note.rules or []:
            if rid not in rule_ids:
                from crawler.rules import builtin_rule_ids

                if rid not in builtin_rule_ids():
                    raise ConfigError(_unknown(rid, rule_ids, "rule"), file=where, key=f"notifiers[{i}].rules")
    for nid in cfg.report.notify:
        if nid not in notifier_ids:
            raise ConfigError(_unknown(nid, notifier_ids, "notifier"), file=where, key="report.notify")
