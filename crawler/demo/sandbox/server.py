"""The sandbox: every fake service on ONE loopback port, started and stopped from asyncio.

Path prefixes: ``/github`` (GitHub API, raw gist files under ``/github/raw/gist``), ``/gitlab``
(API under ``/gitlab/api/v4``), ``/pastebin`` (scraping API), ``/pastesite`` (HTML paste site,
with ``/robots.txt`` also at the root) and ``/issuer``. Anything else is a logged 404, so a test
can plant ``sb.planted_url("x")`` in a document and assert nobody ever fetched it.

``async with Sandbox(poll_interval=1.0) as sb:`` in async code; ``with SandboxThread() as sb:`` in
sync tests (the server runs on its own loop in a thread; publishing is thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from crawler.config.model import RuleConfig
from crawler.demo.sandbox.config import render_config, sandbox_environment
from crawler.demo.sandbox.issuer import IssuerService
from crawler.detect.mint import mint
from crawler.detect.rules import compile_rule
from sources.fakes.github import GitHubService
from sources.fakes.gitlab import GitLabService
from sources.fakes.pastes import PastebinService, PasteSiteService
from sources.fakes.service import Published, RequestRecord, Service

logger = logging.getLogger(__name__)

DEMO_RULE = RuleConfig(id="demo-live", prefix="demo_live_", charset="base62", length=36,
                       checksum="crc32-base62", verifier="demo-introspect", severity="critical",
                       name="Sandbox demo token")
LINK_SELECTOR = "td.first > a[href*='/view/']"


class _RootService(Service):
    """Whatever is not under a service prefix: ``/robots.txt`` and logged 404s."""

    name = "root"
    prefix = ""

    def __init__(self, site: PasteSiteService) -> None:
        self.site = site
        super().__init__()

    def routes(self) -> list[BaseRoute]:
        return [Route("/robots.txt", self.robots)]

    async def robots(self, request: Request) -> Response:
        return PlainTextResponse(self.site.robots_txt())


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the process that embeds the sandbox keeps its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class SandboxUrls:
    root: str
    github: str
    gitlab: str
    pastebin: str
    paste_archive: str
    paste_raw: str
    """``raw_url`` template of the paste site (``{key}`` = last path segment of each link)."""
    introspection: str
    whoami: str
    revoke: str

    @property
    def by_source(self) -> dict[str, str]:
        """``api_url`` (``archive_url`` for the paste site) for each source name."""
        return {"github_events": self.github, "github_gists": self.github, "github_search": self.github,
                "gitlab_snippets": self.gitlab, "pastebin": self.pastebin, "paste_sites": self.paste_archive}


class Sandbox:
    """Fake GitHub, GitLab, Pastebin, a paste site and an issuer on one ephemeral loopback port."""

    def __init__(self, *, poll_interval: float = 60.0, host: str = "127.0.0.1", port: int = 0,
                 github_rate_limit: int = 5000, search_rate_limit: int = 30, gitlab_rate_limit: int = 2000,
                 issuer_client_id: str = "leakpatrol", issuer_client_secret: str | None = None,
                 paste_site_name: str = "pastesite", max_items: int = 5000) -> None:
        self.host, self.port = host, port
        self.github = GitHubService(poll_interval=poll_interval, rate_limit=github_rate_limit,
                                    search_rate_limit=search_rate_limit, max_items=max_items)
        self.gitlab = GitLabService(rate_limit=gitlab_rate_limit, max_items=max_items)
        self.pastebin = PastebinService(max_items)
        self.paste_site = PasteSiteService(paste_site_name, max_items=max_items)
        self.issuer = IssuerService(issuer_client_id, issuer_client_secret)
        self.services: tuple[Service, ...] = (self.github, self.gitlab, self.pastebin, self.paste_site,
                                              self.issuer)
        self.root = _RootService(self.paste_site)
        self.url = ""
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._demo_rule = compile_rule(DEMO_RULE)

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # listening socket says TCP, and without it every response waits ~40 ms for a delayed ACK.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        for service in (*self.services, self.root):
            service.bind(self.url)
        config = uvicorn.Config(self, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2, server_header=False, timeout_keep_alive=30)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("sandbox server stopped during startup")
            await asyncio.sleep(0.005)
        logger.info("sandbox listening on %s", self.url)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._server = self._task = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        for service in self.services:
            if path == service.prefix or path.startswith(service.prefix + "/"):
                scope = {**scope, "root_path": scope.get("root_path", "") + service.prefix}
                await service(scope, receive, send)
                return
        await self.root(scope, receive, send)

    # ---- addresses and publishing ------------------------------------------------------------

    @property
    def urls(self) -> SandboxUrls:
        return SandboxUrls(
            root=self.url, github=self.github.base_url, gitlab=self.gitlab.api_url,
            pastebin=self.pastebin.base_url, paste_archive=self.paste_site.base_url + "/lists",
            paste_raw=self.paste_site.base_url + "/view/raw/{key}",
            introspection=self.issuer.introspection_url, whoami=self.issuer.whoami_url,
            revoke=self.issuer.base_url + "/oauth2/revoke")

    def planted_url(self, name: str) -> str:
        """A URL on this server that no source may ever fetch (plant it inside a document)."""
        return f"{self.url}/planted/{name}"

    def publish_push(self, repo: str, files: dict[str, str], **kw: Any) -> Published:
        return self.github.publish_push(repo, files, **kw)

    def publish_gist(self, files: dict[str, str], **kw: Any) -> Published:
        return self.github.publish_gist(files, **kw)

    def publish_snippet(self, files: dict[str, str], **kw: Any) -> Published:
        return self.gitlab.publish(files, **kw)

    def publish_paste(self, content: str, *, site: str = "pastebin", **kw: Any) -> Published:
        """``site`` is ``"pastebin"`` (scraping API) or ``"paste_site"`` (HTML archive)."""
        target = self.pastebin if site == "pastebin" else self.paste_site
        return target.publish(content, **kw)

    def publish_to(self, source: str, text: str, n: int = 0, *, org: str = "leaky-org") -> Published:
        """Put ``text`` where the source named ``source`` (a config table name) will find it; ``n``
        varies the repository and file names."""
        if source == "github_events":
            return self.publish_push(f"{org}/repo-{n % 3}", {f"deploy/cfg{n}.env": text})
        if source == "github_gists":
            return self.publish_gist({f"notes{n}.md": text})
        if source == "gitlab_snippets":
            return self.publish_snippet({f"snippet{n}.sh": text})
        if source == "pastebin":
            return self.publish_paste(text, site="pastebin")
        if source == "paste_sites":
            return self.publish_paste(text, site="paste_site")
        raise ValueError(f"the sandbox has no source {source!r}")

    def mint(self, *, live: bool = True) -> str:
        """A well-formed ``demo_live_`` token; ``live`` ones are registered with the issuer."""
        token = mint(self._demo_rule)
        if live:
            self.issuer.add_live(token)
        return token

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Every logged request (all services and the root), oldest first."""
        records = [r for s in (*self.services, self.root) for r in s.requests()]
        return sorted((r for r in records if path is None or r.path.startswith(path)), key=lambda r: r.time)

    def config_toml(self, receiver_url: str, webhook_secret_env: str, data_dir: Any, interval: str = "1s",
                    **kw: Any) -> str:
        """A complete ``leakpatrol.toml`` pointing every source at this sandbox (see :mod:`.config`)."""
        return render_config(self, receiver_url, webhook_secret_env, data_dir, interval, **kw)

    def write_config(self, path: Path, receiver_url: str, webhook_secret_env: str, data_dir: Path,
                     interval: str = "1s", **kw: Any) -> Path:
        """Write :meth:`config_toml` to ``path`` (and create ``data_dir``)."""
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        path.write_text(self.config_toml(receiver_url, webhook_secret_env, data_dir, interval, **kw), "utf-8")
        return path

    def environment(self, **env_names: str) -> dict[str, str]:
        """Values for the config's ``*_env`` variables (fake source tokens, the issuer's secret)."""
        return sandbox_environment(self, **env_names)


class SandboxThread:
    """Runs a :class:`Sandbox` on its own event loop in a daemon thread, for sync code."""

    def __init__(self, **kwargs: Any) -> None:
        self.sandbox = Sandbox(**kwargs)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="leakpatrol-sandbox", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
            try:
                async with self.sandbox:
                    self._ready.set()
                    await self._stopping.wait()
            except BaseException as exc:  # reported to start()
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def start(self) -> Sandbox:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or not self.sandbox.url:
            raise RuntimeError(f"sandbox failed to start: {self._error!r}")
        return self.sandbox

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(15)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
