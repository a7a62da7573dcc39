"""Each real source, unchanged, against the loopback sandbox over several polls.

Between polls new content (with minted tokens and a planted URL) is published. The test acts like
the engine: it keeps the cursor of every accepted batch, honours ``source.not_before``, and backs
off for one poll interval after a failed poll. Along the way the service answers one 429 with
``Retry-After`` and one malformed page. Every planted token must be seen exactly once, no request
may come faster than ``X-Poll-Interval`` or during a ``Retry-After``, the planted URL is never
fetched, and every request goes to a route the source is built to use.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs

import pytest

from crawler.demo.sandbox import DEMO_RULE, Sandbox
from crawler.detect.rules import compile_rule
from crawler.detect.scanner import Scanner
from crawler.http import allowed_hosts_for, make_client
from crawler.kernel.errors import SourceError
from sources import SOURCES
from sources.base import Document, Source, SourceContext
from sources.fakes import FAKES
from sources.fakes.github import GitHubService
from sources.fakes.gitlab import GitLabService
from sources.fakes.pastes import PastebinService, PasteSiteService

pytestmark = pytest.mark.e2e
Publisher = Callable[[Sandbox, int], list[str]]


@dataclass(frozen=True)
class Scenario:
    kind: str
    overrides: Mapping[str, Any]
    """Keys changed in the fake's own table (``sb.source_table(kind)``)."""
    publish: Publisher
    list_path: str
    """Route (under its service) of the listing request that gets the 429 and the malformed page."""
    routes: tuple[str, ...]
    """Every request must start with one of these paths."""
    malformed_raises: bool = True


def _events(sb: Sandbox, i: int) -> list[str]:
    gh, t = sb.fake(GitHubService), [sb.mint() for _ in range(3)]
    gh.publish_push("octo/leaky", {f"cfg{i}.env": f"KEY={t[0]}\nDOCS={sb.planted_url(f'events-{i}')}\n"})
    gh.publish_push("octo/leaky", {f"branch{i}.txt": f"token {t[1]}\n"}, ref=f"refs/heads/topic-{i}")
    gh.publish_push("octo/tidy", {f"readme{i}.md": "nothing to see\n"}, removed={f"old{i}.env": f"OLD={t[2]}\n"})
    gh.publish_event("WatchEvent", "octo/leaky")
    return t


def _gists(sb: Sandbox, i: int) -> list[str]:
    t = [sb.mint() for _ in range(2)]
    sb.fake(GitHubService).publish_gist({f"a{i}.env": f"{t[0]}\n{sb.planted_url(f'gist-{i}')}\n",
                                         f"b{i}.py": f"KEY = '{t[1]}'\n"})
    return t


def _search(sb: Sandbox, i: int) -> list[str]:
    t = sb.mint()
    sb.fake(GitHubService).publish_push(
        f"octo/s{i}", {f"src/settings{i}.py": f"API_KEY = '{t}'  # {sb.planted_url(f's-{i}')}\n"})
    return [t]


def _snippets(sb: Sandbox, i: int) -> list[str]:
    t = [sb.mint() for _ in range(2)]
    sb.fake(GitLabService).publish({f"s{i}.sh": f"export K={t[0]}\ncurl {sb.planted_url(f'gl-{i}')}\n",
                                    f"n{i}.txt": t[1]})
    return t


def _pastebin(sb: Sandbox, i: int) -> list[str]:
    t = [sb.mint() for _ in range(2)]
    for j, tok in enumerate(t):
        sb.fake(PastebinService).publish(f"leak {tok}\nsee {sb.planted_url(f'pb-{i}-{j}')}\n")
    return t


def _paste_site(sb: Sandbox, i: int) -> list[str]:
    t = [sb.mint() for _ in range(2)]
    for j, tok in enumerate(t):
        sb.fake(PasteSiteService).publish(f"<a href='{sb.planted_url(f'ps-{i}-{j}')}'>x</a> {tok}")
    return t


FAST_SEARCH = {"searches_per_minute": 60}
SCENARIOS = [
    Scenario("github_events", {}, _events, "/events", ("/github/events", "/github/repos/octo/")),
    Scenario("github_gists", {}, _gists, "/gists/public", ("/github/gists/public", "/github/raw/gist/")),
    Scenario("github_search", FAST_SEARCH, _search, "/search/code",
             ("/github/search/code", "/github/repositories/")),
    Scenario("gitlab_snippets", {}, _snippets, "/api/v4/snippets/public",
             ("/gitlab/api/v4/snippets/public", "/gitlab/-/snippets/")),
    Scenario("pastebin", {}, _pastebin, "/api_scraping.php",
             ("/pastebin/api_scraping.php", "/pastebin/api_scrape_item.php")),
    Scenario("paste_sites", {}, _paste_site, "/lists", ("/robots.txt", "/pastesite/lists", "/pastesite/view/raw/"),
             malformed_raises=False),
]
OVERRIDES: dict[str, Mapping[str, Any]] = {s.kind: s.overrides for s in SCENARIOS} | {"gharchive": {}}
HOURLY = {"gharchive": "tests/e2e/test_gharchive.py"}
"""Sources whose listing changes once an hour, so the five-poll scenario cannot drive them: their own tests."""


def build(cls: type[Source], table: Mapping[str, Any]) -> Source:
    """The source as the engine builds it: validated options and the host allow-list."""
    options = cls.Options.model_validate(dict(table))
    name = str(getattr(options, "name", None) or cls.name)
    client = make_client(allowed_hosts=allowed_hosts_for(options.api_url, cls.hosts(options)), owner=name,
                         follow_redirects=True)

    async def no_pause(_seconds: float) -> None:  # the source's own pacing is unit-tested with a fake clock
        return None

    return cls(options, SourceContext(name, client=client, prefixes=[DEMO_RULE.prefix], sleep=no_pause))


async def poll_once(source: Source, cursor: Mapping[str, Any]) -> tuple[list[Document], Mapping[str, Any], bool]:
    """One poll; documents and cursor of every accepted batch, and whether the poll failed."""
    docs: list[Document] = []
    try:
        async for batch in source.poll(cursor):
            docs += batch.documents
            cursor = batch.cursor
    except SourceError:
        return docs, cursor, True
    return docs, cursor, False


async def wait_until_allowed(source: Source) -> None:
    if source.not_before is not None:
        delay = (source.not_before - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


def test_every_source_has_a_scenario() -> None:
    assert sorted([s.kind for s in SCENARIOS] + list(HOURLY)) == sorted(SOURCES)


@pytest.mark.parametrize("kind", sorted(SOURCES))
async def test_publish_to_reaches_each_source(kind: str, sb: Sandbox) -> None:
    """The registry's ``publish`` puts a document where the registry's table makes the source look."""
    assert kind in FAKES, f"{kind} has no sandbox fake in sources.fakes.FAKES"
    token = sb.mint()
    published = sb.publish_to(kind, f"# settings\nAPI_TOKEN={token}\n", 7, org="e2e-org")
    source = build(SOURCES[kind], {**sb.source_table(kind).values, **OVERRIDES[kind]})
    try:
        docs, _, failed = await poll_once(source, {})
    finally:
        await source.ctx.client.aclose()
    scanner = Scanner([compile_rule(DEMO_RULE)])
    found = [d for d in docs if any(m.text == token for m in scanner.scan(d.content))]
    assert not failed and found, f"{kind}: the published token was not found"
    assert {d.source for d in found} == {sb.source_name(kind)} == {published.source}
    assert published.url in {d.url for d in found}, "Published.url is the page the source reports"
    assert sb.api_url(kind).startswith(sb.service_for(kind).base_url)
    assert {r.service for r in sb.requests()} <= {sb.service_for(kind).name, "root"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.kind for s in SCENARIOS])
async def test_source_against_sandbox(scenario: Scenario, sb: Sandbox) -> None:
    assert scenario.kind in SOURCES, "the source registry lost a source"
    source = build(SOURCES[scenario.kind], {**sb.source_table(scenario.kind).values, **scenario.overrides})
    service = sb.service_for(scenario.kind)
    scanner = Scanner([compile_rule(DEMO_RULE)])
    planted: list[str] = []
    seen: Counter[str] = Counter()
    cursor: Mapping[str, Any] = {}
    failures = []
    try:
        for i in range(5):
            if i < 4:
                planted += scenario.publish(sb, i)
            if i == 1:
                service.inject(429, retry_after=1, path=scenario.list_path)
            if i == 2:
                service.malformed(path=scenario.list_path)
            await wait_until_allowed(source)
            docs, cursor, failed = await poll_once(source, cursor)
            failures.append(failed)
            if failed:
                await asyncio.sleep(service.poll_interval)  # the engine backs off after a failed poll
            for doc in docs:
                assert doc.source == source.ctx.name
                seen.update(m.text for m in scanner.scan(doc.content))
    finally:
        await source.ctx.client.aclose()

    assert seen == Counter(planted), "every planted token is seen exactly once"
    assert failures == [False, False, scenario.malformed_raises, False, False]
    assert sb.requests("/planted") == [], "a URL found inside a document was fetched"
    stray = [r.path for r in sb.requests() if not r.path.startswith(scenario.routes)]
    assert stray == []

    listing = [r for r in service.requests(scenario.list_path) if parse_qs(r.query).get("page", ["1"]) == ["1"]]
    limited = next(n for n, r in enumerate(listing) if r.status == 429)
    assert listing[limited + 1].time - listing[limited].time >= 1.0 - 0.01, "request during Retry-After"
    if scenario.kind == "github_events":
        gaps = [b.time - a.time for a, b in pairwise(listing)]
        assert len(gaps) >= 5 and min(gaps) >= service.poll_interval - 0.01, "faster than X-Poll-Interval"
        assert source.not_before is not None
