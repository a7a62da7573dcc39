"""The contract every registered source keeps (run over each entry of ``sources.SOURCES``).

A new source gets these for free once it has a scenario adapter in ``scenarios.py``.
"""

from __future__ import annotations

import importlib
import pkgutil

import httpx
import pytest
import respx

import sources
from crawler.http import allowed_hosts_for
from crawler.kernel.errors import MalformedPage, RateLimited
from sources import SOURCES
from sources.base import SourceOptions, TokenSourceOptions
from tests.sources.helpers import Clock, collect, documents, make_source, token
from tests.sources.scenarios import SCENARIOS, Scenario

KINDS = sorted(SOURCES)


@pytest.fixture(params=KINDS)
def scenario(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    sc = SCENARIOS[request.param]
    for name, value in sc.env.items():
        monkeypatch.setenv(name, value)
    return sc


def build(sc: Scenario, clock: Clock, **kw: object):  # type: ignore[no-untyped-def]
    return make_source(SOURCES[sc.kind], sc.table, clock, **kw)  # type: ignore[arg-type]


def test_registry_lists_every_module_under_its_own_name() -> None:
    found = pkgutil.iter_modules(sources.__path__)
    modules = {m.name for m in found if not m.ispkg and m.name != "base" and not m.name.startswith("_")}
    assert modules == set(SOURCES)
    for name, cls in SOURCES.items():
        assert cls.name == name
        assert cls.__module__ == f"sources.{name}"
        assert importlib.import_module(cls.__module__) is not None
        assert issubclass(cls.Options, SourceOptions)


def test_every_source_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(SOURCES)


async def test_first_page_yields_documents(scenario: Scenario, no_network: respx.MockRouter) -> None:
    planted = [f"API_KEY={token()}\n".encode() for _ in range(3)]
    scenario.install(no_network, planted)
    src = build(scenario, Clock())
    batches = await collect(src, {})
    docs = documents(batches)
    assert sorted(d.content for d in docs) == sorted(planted)
    assert len({d.key for d in docs}) == len(docs) == 3
    for d in docs:
        assert d.source == src.ctx.name
        assert d.url.startswith("https://")
        assert not d.truncated
    assert batches[-1].cursor  # something to store


async def test_nothing_new_yields_nothing_and_keeps_the_cursor(scenario: Scenario,
                                                               no_network: respx.MockRouter) -> None:
    cursor = scenario.install_empty(no_network)
    before = dict(cursor)
    batches = await collect(build(scenario, Clock()), cursor)
    assert batches == []
    assert cursor == before


async def test_cursor_moves_only_past_accepted_documents(scenario: Scenario, no_network: respx.MockRouter) -> None:
    planted = [f"doc {i}: {token()}".encode() for i in range(3)]
    scenario.install(no_network, planted)
    first = await collect(build(scenario, Clock()), {}, limit=1)  # the engine stopped after batch 1
    accepted = documents(first)
    assert len(accepted) == 1
    rest = documents(await collect(build(scenario, Clock()), first[0].cursor))
    assert sorted(d.content for d in rest) == sorted(set(planted) - {accepted[0].content})
    # everything accepted → the next poll from the final cursor yields nothing again
    every = await collect(build(scenario, Clock()), {})
    again = await collect(build(scenario, Clock()), every[-1].cursor)
    assert documents(again) == []


@pytest.mark.parametrize("status", [429, 403])
async def test_long_retry_after_raises_rate_limited_with_the_wait(scenario: Scenario, status: int,
                                                                   no_network: respx.MockRouter) -> None:
    route = scenario.install(no_network, [b"x"])
    route.side_effect = [httpx.Response(status, headers={"Retry-After": "120"}, text="Retry later")]
    clock = Clock()
    with pytest.raises(RateLimited) as err:
        await collect(build(scenario, clock), {})
    assert err.value.retry_after == 120
    assert 120 not in clock.sleeps  # not slept inline: the engine stores the back-off


async def test_short_retry_after_is_waited_then_retried(scenario: Scenario, no_network: respx.MockRouter) -> None:
    planted = [f"k={token()}".encode()]
    route = scenario.install(no_network, planted)
    route.side_effect = [httpx.Response(429, headers={"Retry-After": "2"}, text="Retry later"), route.return_value]
    clock = Clock()
    docs = documents(await collect(build(scenario, clock), {}))
    assert [d.content for d in docs] == planted
    assert 2.0 in clock.sleeps


@pytest.mark.parametrize("index", [0, 1])
async def test_malformed_page_raises_and_yields_nothing(scenario: Scenario, index: int,
                                                        no_network: respx.MockRouter) -> None:
    route = scenario.install(no_network, [b"never yielded"])
    body, ctype = scenario.malformed[index]
    route.return_value = httpx.Response(200, content=body, headers={"Content-Type": ctype})
    yielded = []
    with pytest.raises(MalformedPage):
        async for batch in build(scenario, Clock()).poll({}):
            yielded.append(batch)
    assert yielded == []


async def test_oversized_document_is_capped_and_flagged(scenario: Scenario, no_network: respx.MockRouter) -> None:
    scenario.install(no_network, [b"A" * 5000])
    docs = documents(await collect(build(scenario, Clock(), max_document_bytes=2048), {}))
    assert len(docs) == 1
    assert docs[0].truncated
    assert docs[0].content == b"A" * 2048


async def test_binary_document_passes_through_untouched(scenario: Scenario, no_network: respx.MockRouter) -> None:
    blob = bytes(range(256)) * 4 + b"\xff\xfe\x00"
    scenario.install(no_network, [blob])
    docs = documents(await collect(build(scenario, Clock()), {}))
    assert [d.content for d in docs] == [blob]
    assert not docs[0].truncated


async def test_url_inside_a_document_is_never_requested(scenario: Scenario, no_network: respx.MockRouter) -> None:
    src_cls = SOURCES[scenario.kind]
    options = src_cls.Options.model_validate(scenario.table)
    hosts = sorted(allowed_hosts_for(options.api_url, src_cls.hosts(options)))
    traps = [no_network.get(f"https://{h}/planted/never-fetch") for h in hosts]
    body = " ".join(f"https://{h}/planted/never-fetch" for h in hosts).encode()
    scenario.install(no_network, [body])
    docs = documents(await collect(build(scenario, Clock()), {}))
    assert [d.content for d in docs] == [body]
    assert not any(t.called for t in traps)


def test_missing_token_disables_the_source(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = SOURCES[scenario.kind]
    options = cls.Options.model_validate(scenario.table)
    if not isinstance(options, TokenSourceOptions):
        assert cls.missing_credentials(options) is None  # needs no token: always runs
        return
    assert cls.missing_credentials(options) is None
    monkeypatch.delenv(options.token_env, raising=False)
    reason = cls.missing_credentials(options)
    assert reason is not None and options.token_env in reason
