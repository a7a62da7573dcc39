"""The sandbox: every fake service on ONE loopback port, started and stopped from asyncio.

The services come from the fakes' registry (:data:`sources.fakes.FAKES`): one instance of each
distinct service class, each mounted on its own path prefix, plus the token issuer under
``/issuer``. Host-wide routes a service declares (``/robots.txt``) are answered at the root;
anything else is a logged 404, so a test can plant ``sb.planted_url("x")`` in a document and
assert nobody ever fetched it. Everything about a source goes through its kind (a key of
``sources.SOURCES``): :meth:`Sandbox.publish_to`, :meth:`Sandbox.source_table`,
:meth:`Sandbox.api_url`, :meth:`Sandbox.service_for`; this module names no provider.

``async with Sandbox(poll_interval=1.0) as sb:`` in async code; ``with SandboxThread() as sb:`` in
sync tests (:mod:`crawler.demo.sandbox.thread`; publishing is thread-safe).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from crawler.config.model import RuleConfig
from crawler.demo.sandbox.config import environment, render_config
from crawler.demo.sandbox.issuer import IssuerService
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from crawler.kernel.serve import AppServer
from sources.fakes import FAKES, Fake, Published, RequestRecord, Service, SourceTable, build_services

logger = logging.getLogger(__name__)
S = TypeVar("S", bound=Service)

DEMO_RULE = RuleConfig(id="demo-live", prefix="demo_live_", charset="base62", length=36,
                       checksum="crc32-base62", verifier="demo-introspect", severity="critical",
                       name="Sandbox demo token")


class _RootService(Service):
    """Whatever is not under a service prefix: the services' host-wide routes and logged 404s."""

    name = "root"
    prefix = ""

    def __init__(self, services: Iterable[Service]) -> None:
        self._host_wide = [route for service in services for route in service.root_routes()]
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        return self._host_wide


class Sandbox:
    """The registry's fake services and an issuer on one ephemeral loopback port.

    ``poll_interval`` and ``max_items`` go to every fake service; ``options`` holds each service's
    own keyword arguments by service name, e.g. ``options={"<service>": {"rate_limit": 10}}``.
    """

    def __init__(self, *, poll_interval: float = 60.0, max_items: int = 5000,
                 options: Mapping[str, Mapping[str, Any]] | None = None, host: str = "127.0.0.1", port: int = 0,
                 issuer_client_id: str = "leakpatrol", issuer_client_secret: str | None = None) -> None:
        self.host, self.port = host, port
        self.services: dict[str, Service] = build_services(FAKES.values(), poll_interval=poll_interval,
                                                           max_items=max_items, options=options)
        """The fake services by service name (the issuer is :attr:`issuer`)."""
        self.issuer = IssuerService(issuer_client_id, issuer_client_secret)
        self._mounted: tuple[Service, ...] = (*self.services.values(), self.issuer)
        prefixes = [s.prefix for s in self._mounted]
        if len(set(prefixes)) != len(prefixes) or "" in prefixes:
            raise ValueError(f"every sandbox service needs its own path prefix: {prefixes}")
        self.root = _RootService(self._mounted)
        self.url = ""
        self._server: AppServer | None = None
        self._demo_rule = compile_rule(DEMO_RULE)

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = AppServer(self, self.host, self.port, log_level="warning", timeout_keep_alive=30)
        self.url = self._server.bind()  # the services must know their URLs before the first request
        self.port = self._server.port
        for service in (*self._mounted, self.root):
            service.bind(self.url)
        await self._server.start()
        logger.info("sandbox listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is None:
            return
        await self._server.stop()
        self._server = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        for service in self._mounted:
            if path == service.prefix or path.startswith(service.prefix + "/"):
                scope = {**scope, "root_path": scope.get("root_path", "") + service.prefix}
                await service(scope, receive, send)
                return
        await self.root(scope, receive, send)

    # ---- the registry's sources --------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every source kind the sandbox serves, in registry order."""
        return tuple(FAKES)

    @overload
    def fake(self, which: str) -> Service: ...

    @overload
    def fake(self, which: type[S]) -> S: ...

    def fake(self, which: str | type[Service]) -> Service:
        """A fake service by service name, or the one instance of a service class (typed)."""
        if isinstance(which, str):
            if which not in self.services:
                raise KeyError(f"the sandbox has no service {which!r} (it has {', '.join(self.services)})")
            return self.services[which]
        found = [s for s in self.services.values() if isinstance(s, which)]
        if len(found) != 1:
            raise KeyError(f"the sandbox has {len(found)} services of type {which.__name__}")
        return found[0]

    def _fake(self, kind: str) -> Fake[Any]:
        if kind not in FAKES:
            raise ValueError(f"the sandbox has no source {kind!r}")
        return FAKES[kind]

    def service_for(self, kind: str) -> Service:
        """The service that serves the source ``kind``."""
        return self.services[self._fake(kind).service.name]

    def source_table(self, kind: str) -> SourceTable:
        """The ``kind`` source's config table for this sandbox (bound once the sandbox has started)."""
        return self._fake(kind).table(self.service_for(kind))

    def api_url(self, kind: str) -> str:
        """Where the ``kind`` source polls (its ``api_url``; a list source's page URL)."""
        return self.source_table(kind).url

    def source_name(self, kind: str) -> str:
        """The name the daemon gives the ``kind`` source here (a list source's ``name``, else the kind):
        its metrics label and ``Document.source``."""
        return str(self.source_table(kind).values.get("name", kind)) if self._fake(kind).multi else kind

    def publish_to(self, kind: str, text: str, n: int = 0, *, org: str = "leaky-org") -> Published:
        """Put ``text`` where the source ``kind`` (a config table name) will find it; ``n`` varies the
        repository and file names, ``org`` owns them where the service has owners."""
        return self._fake(kind).publish(self.service_for(kind), text, n, org)

    # ---- tokens, logs and config -------------------------------------------------------------

    def planted_url(self, name: str) -> str:
        """A URL on this server that no source may ever fetch (plant it inside a document)."""
        return f"{self.url}/planted/{name}"

    def mint(self, *, live: bool = True) -> str:
        """A well-formed ``demo_live_`` token; ``live`` ones are registered with the issuer."""
        token = mint(self._demo_rule)
        if live:
            self.issuer.add_live(token)
        return token

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Every logged request (all services and the root), oldest first."""
        records = [r for s in (*self._mounted, self.root) for r in s.requests()]
        return sorted((r for r in records if path is None or r.path.startswith(path)), key=lambda r: r.time)

    def config_toml(self, receiver_url: str, webhook_secret_env: str, data_dir: Path | str, interval: str = "1s",
                    *, sources: Iterable[str] | None = None,
                    source_options: Mapping[str, Mapping[str, Any]] | None = None, **kw: Any) -> str:
        """A complete ``leakpatrol.toml`` pointing ``sources`` (default: every kind) at this sandbox.

        ``source_options`` adds or overrides keys per source table; ``kw`` goes to
        :func:`crawler.demo.sandbox.config.render_config` (``listen``, ``builtin_rules`` …).
        """
        extra = source_options or {}
        tables = [(self._fake(kind).header,
                   {**self.source_table(kind).values, "interval": interval, **extra.get(kind, {})})
                  for kind in (self.kinds if sources is None else sources)]
        return render_config(self.issuer, tables, receiver_url, webhook_secret_env, data_dir, root_url=self.url,
                             **kw)

    def write_config(self, path: Path, receiver_url: str, webhook_secret_env: str, data_dir: Path,
                     interval: str = "1s", **kw: Any) -> Path:
        """Write :meth:`config_toml` to ``path`` (and create ``data_dir``)."""
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        path.write_text(self.config_toml(receiver_url, webhook_secret_env, data_dir, interval, **kw), "utf-8")
        return path

    def environment(self, *, introspect_secret_env: str = "DEMO_INTROSPECT_SECRET") -> dict[str, str]:
        """Values for the config's ``*_env`` variables: every source's fake secrets, the issuer's secret."""
        source_env = {k: v for kind in self.kinds for k, v in self.source_table(kind).env.items()}
        return environment(self.issuer, source_env, introspect_secret_env=introspect_secret_env)
