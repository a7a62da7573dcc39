"""The one typed config model (``leakpatrol.toml``), with its defaults documented in place.

Loading is layered: model defaults, then the file, then ``LEAKPATROL_<TABLE>__<KEY>`` environment
overrides, then CLI flags (applied by the CLI). Secrets never sit in the file: keys ending in
``_env`` name an environment variable, read with :func:`secret`.

Plug-in tables (``[sources.*]``, ``[[verifiers]]``, ``[[notifiers]]``) keep their plug-in keys as
extras here; :mod:`crawler.plugins` validates them against the registered plug-in's ``Options``
model and stores the validated options in the config (``source_specs``, ``plugin_options``).
Loading is in :mod:`crawler.config.loading`.

Size: one model mirrors the one file format, table by table, as the README's configuration table
does; splitting it would scatter the defaults a reader looks up side by side.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from crawler.kernel.durations import parse_duration
from crawler.kernel.status import VerdictStatus

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
    signing_key_env: str = "LEAKPATROL_SIGNING_KEY"
    """Environment variable holding the deployment's ECDSA P-256 signing key (PEM) for
    ``github_partner`` alerts; takes precedence over ``signing_key_file``."""
    signing_key_file: str = "data/leakpatrol-signing.pem"
    """Signing key file written by ``leakpatrol init`` (mode 0600; PKCS#8 PEM, the first key is the
    current one, any further keys are still published so receivers accept them during a rotation)."""


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
    fetch_deadline: Duration = Field(default=60.0, gt=0)
    """Total time one source request may take, body included (a body trickled byte by byte cannot
    hold a fetch: ``read_timeout`` only bounds the gap between two reads)."""
    max_server_wait: Duration = Field(default=3600.0, gt=0)
    """Longest wait a server can impose (``Retry-After``, ``X-RateLimit-Reset``, ``X-Poll-Interval``);
    a longer one is clamped to this and logged."""
    max_poll_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    """Bytes one poll of one source may read (listings and documents); past it the poll ends, keeping
    its progress, and the next poll goes on from there."""
    max_poll_documents: int = Field(default=20_000, ge=1)
    """Documents one poll of one source processes; past it the poll ends keeping its progress."""
    max_poll_pages: int = Field(default=100, ge=1)
    """Listing pages one poll of one source requests (pages followed by ``Link: next`` or a page
    number, archive pages, hourly archive files); past it the listing stops there, the poll ends
    keeping its progress (logged once) and the next poll goes on from there."""
    max_crawl_delay: Duration = Field(default=60.0, ge=0)
    """Longest ``robots.txt`` ``Crawl-delay`` honoured between two fetches; a longer one is clamped and logged."""


class ScannerConfig(Model):
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Documents are scanned up to this many bytes (after decompression) and flagged truncated."""
    builtin_rules: bool | list[str] = True
    """``true`` loads the whole built-in pack, ``false`` none, or a list of built-in rule ids."""
    workers: int = Field(default=2, ge=1, le=64)
    """Worker processes that scan the crawled documents (off the daemon's event loop)."""
    time_limit: Duration = Field(default=10.0, gt=0, le=600)
    """Seconds one document's scan may take; past it the document is skipped (``scan_time_limit``)
    and its worker replaced."""


class CompanionConfig(Model):
    """The other half of a paired credential, e.g. the AWS secret access key next to its key id.

    It has no prefix of its own: it is a maximal run of ``charset`` characters of ``length`` (or
    ``min_length``..``max_length``) within ``within`` bytes before or after the match; the nearest
    one after the match wins, else the nearest before it. A run made only of ``not_charset``
    characters (e.g. a hex digest next to an AWS key id) is not taken."""

    charset: str
    length: int | None = Field(default=None, ge=8, le=1024)
    min_length: int | None = Field(default=None, ge=8, le=1024)
    max_length: int | None = Field(default=None, ge=8, le=1024)
    within: int = Field(default=300, ge=1, le=2048)
    not_charset: str | None = None
    name: str = "secret"


class AllowConfig(Model):
    """One allowlist entry of the built-in pack: a published example or a placeholder that is never
    reported. Exactly one of: ``token`` (an exact match), ``contains`` (a substring of the match,
    case-sensitive), or ``repeated`` (a run of that many or more of one character of ``chars``).
    ``rules`` limits the entry to these rule ids (default: every built-in rule), ``not_rules``
    exempts some; ``reason`` says why, and where it is published."""

    reason: str = Field(min_length=8)
    token: str | None = None
    contains: str | None = None
    repeated: int | None = Field(default=None, ge=4, le=64)
    chars: str = ""
    rules: list[str] = []
    not_rules: list[str] = []


class RuleConfig(Model):
    """One token format. A match is ``prefix`` + body (``charset`` × ``length``, or ``regex``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    prefix: str = Field(min_length=2)
    charset: str | None = None
    regex: str | None = None
    length: int | None = Field(default=None, ge=1, le=4096)
    min_length: int | None = Field(default=None, ge=1, le=4096)
    max_length: int | None = Field(default=None, ge=1, le=4096)
    checksum: Literal["none", "crc32-base62", "gitlab-routable", "grafana-crc32-hex"] = "none"
    """A named checksum kind (``crawler/detect/checksum.py``); a match whose checksum fails is discarded."""
    companion: CompanionConfig | None = None
    """A second secret that must stand near the match (a paired credential: one finding, one verdict)."""
    lead_charset: str | None = None
    """Characters of ``lead_charset`` right before the prefix belong to the token (``lead_min_length``
    ..``lead_max_length`` of them), for formats whose literal part is not at the start."""
    lead_min_length: int | None = Field(default=None, ge=1, le=128)
    lead_max_length: int | None = Field(default=None, ge=1, le=128)
    priority: int = 0
    """Rules that match the same text are tried highest first (a narrower format before a wider one
    that shares its prefix); equal priorities keep their order."""
    verifier: str | None = None
    severity: Literal["critical", "high", "medium", "low"] = "high"
    name: str = ""
    reference: str | None = None
    examples: list[str] = []
    negative_examples: list[str] = []


class VerificationConfig(Model):
    recheck: Duration = 3600.0
    """Re-verify live tokens this often; live → inactive records ``revoked_at``."""
    unknown_retry: Duration = 5.0
    """First retry of an ``unknown`` verdict (a transient issuer error costs seconds); doubles up to
    ``unknown_max_backoff``."""
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
    on: list[VerdictStatus] = ["live"]
    rules: list[str] | None = None
    """Rules whose tokens this notifier receives; default: every rule."""


class ReportConfig(Model):
    weekly: str = "mon 07:00"
    """``<day> HH:MM`` in the daemon's local time; empty string turns the weekly job off."""
    out_dir: str = "data/reports"
    notify: list[str] = []
    formats: list[Literal["html", "md", "json"]] = ["html", "md", "json"]


class PluginOptions(BaseModel):
    """Base of every plug-in's ``Options`` model (sources, verifiers, notifiers): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(BaseModel):
    """One enabled source instance after validation (paste sites may have several)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    options: PluginOptions
    """The source's own ``Options`` instance, validated once by :mod:`crawler.plugins`."""


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
    plugin_options: dict[str, PluginOptions] = Field({}, exclude=True)
    """Validated options of each ``[[verifiers]]`` / ``[[notifiers]]`` table, by ``"<table>.<id>"``."""

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

    def options_of(self, table: Literal["verifiers", "notifiers"], plugin_id: str) -> PluginOptions | None:
        """The validated plug-in options of one table (``None`` when the table was not validated)."""
        return self.plugin_options.get(f"{table}.{plugin_id}")


def secret(env_name: str | None) -> str | None:
    """The value of the environment variable a ``*_env`` key names (``None`` if unset/empty)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None
