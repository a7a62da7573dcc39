"""Issue 11, "credential sent elsewhere": for every registered source, a redirect from its API to
another origin (a host its allow-list permits, so the request is really sent) carries none of the
source's credential headers. GitLab's ``PRIVATE-TOKEN`` used to follow it."""

from __future__ import annotations

import contextlib

import httpx
import pytest
import respx

from crawler.http import CREDENTIAL_HEADERS, host_of
from crawler.kernel.errors import SourceError
from sources import SOURCES
from tests.sources.helpers import Clock, collect, make_source
from tests.sources.scenarios import SCENARIOS

ELSEWHERE = "elsewhere.example"


@pytest.mark.parametrize("kind", sorted(SOURCES))
async def test_credentials_are_dropped_on_a_redirect_to_another_origin(
        kind: str, no_network: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = SCENARIOS[kind]
    for name, value in sc.env.items():
        monkeypatch.setenv(name, value)
    source = make_source(SOURCES[kind], {**sc.table, "allowed_hosts": [ELSEWHERE]}, Clock())
    api = host_of(source.options.api_url)
    first: list[httpx.Request] = []
    landed: list[httpx.Request] = []

    def bounce(request: httpx.Request) -> httpx.Response:
        first.append(request)
        return httpx.Response(302, headers={"Location": f"https://{ELSEWHERE}/landing{request.url.path}"})

    no_network.route(host=ELSEWHERE).mock(side_effect=lambda r: (landed.append(r), httpx.Response(404))[1])
    no_network.route(host=api).mock(side_effect=bounce)
    sc.install(no_network, [b"x"])
    with contextlib.suppress(SourceError):  # a 404 at the end of the redirect: what was sent there matters
        await collect(source, {})
    assert first and landed, "the redirect was not followed"
    sent = {name for request in landed for name in request.headers if name.lower() in CREDENTIAL_HEADERS}
    assert sent == set(), f"{kind} sent {sorted(sent)} to another origin"
    if sc.env:  # the source does authenticate at home, so the drop above is real
        assert any(name.lower() in CREDENTIAL_HEADERS for name in first[0].headers)
