"""GH Archive replayed from recorded reality: the recorded events page of api.github.com (PyGithub
ReplayData, see its provenance) written as an hour of the archive — one event per line, gzip, in
several gzip members as the archive's files may be — with each push's recorded compare."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import httpx
import pytest
import respx

from crawler.kernel.errors import RateLimited
from sources.gharchive import Gharchive
from tests.realworld.helpers import found, skipped
from tests.realworld.replay import load, serve
from tests.realworld.test_github import COMPARE, EVENTS, compare_url, compare_with, pushes
from tests.sources.helpers import Clock, collect, documents, make_source, token

HOUR = "https://data.gharchive.org/2026-11-28-21.json.gz"  # the hour that ended last at the test clock


def archive(lines: list[bytes], members: int = 3) -> bytes:
    """The lines as a file of ``members`` gzip members, as ``cat a.gz b.gz`` gives."""
    step = max(1, len(lines) // members)
    return b"".join(gzip.compress(b"".join(lines[i:i + step])) for i in range(0, len(lines), step))


def as_lines(events: list[dict[str, object]]) -> list[bytes]:
    return [json.dumps(e).encode() + b"\n" for e in reversed(events)]  # the archive is oldest first


async def test_every_push_of_a_recorded_hour_is_read_across_gzip_members_and_a_bad_line_skipped() -> None:
    events = EVENTS.json()
    tokens = {e["id"]: token() for e in pushes(events)}
    lines = as_lines(events)
    lines.insert(2, b'{"id": "1", "type": "PushEvent", "repo": {"na\n')  # cut off mid-line by the writer
    with respx.mock(assert_all_called=False) as router:
        router.get(HOUR).mock(return_value=httpx.Response(200, content=archive(lines),
                                                          headers={"Content-Type": "application/gzip"}))
        for e in pushes(events):
            serve(router, compare_url(e), COMPARE.response(data=compare_with(tokens[e["id"]])))
        batches = await collect(make_source(Gharchive, {"backfill_hours": 1}, Clock()), {})
    assert len(tokens) >= 5
    assert found(documents(batches)) == set(tokens.values())
    assert [s.key for s in skipped(batches)] == ["2026-11-28-21:3"]
    assert batches[-1].cursor == {"hour": "2026-11-28-21"}


async def test_an_hour_not_yet_published_is_waited_for_and_the_cursor_stays() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.get(HOUR).mock(return_value=httpx.Response(404, content=b"<Error><Code>NoSuchKey</Code></Error>"))
        batches = await collect(make_source(Gharchive, {}, Clock()), {"hour": "2026-11-28-20"})
    assert batches == []


async def test_a_file_broken_midway_keeps_what_was_read_and_records_the_rest_as_skipped() -> None:
    events = pushes(EVENTS.json())[:2]
    tokens = {e["id"]: token() for e in events}
    good = gzip.compress(b"".join(as_lines(events)))
    with respx.mock(assert_all_called=False) as router:
        router.get(HOUR).mock(return_value=httpx.Response(200, content=good + b"\x1f\x8b\x08\x00garbage"))
        for e in events:
            serve(router, compare_url(e), COMPARE.response(data=compare_with(tokens[e["id"]])))
        batches = await collect(make_source(Gharchive, {"backfill_hours": 1}, Clock()), {})
    assert found(documents(batches)) == set(tokens.values())
    [skip] = skipped(batches)
    assert skip.reason == "invalid" and "gzip" in skip.detail
    assert batches[-1].cursor == {"hour": "2026-11-28-21"}  # the hour is done with, the rest recorded


@pytest.mark.parametrize("name", ["github.rate_limited", "github.abuse_limited"])
async def test_githubs_recorded_rate_limits_on_a_compare_back_the_archive_off(name: str) -> None:
    event = pushes(EVENTS.json())[0]
    with respx.mock(assert_all_called=False) as router:
        router.get(HOUR).mock(return_value=httpx.Response(200, content=archive(as_lines([event]))))
        serve(router, compare_url(event), load(name).response())
        with pytest.raises(RateLimited):
            await collect(make_source(Gharchive, {"backfill_hours": 1}, Clock()), {})


async def test_the_first_poll_pins_where_the_archive_starts_even_before_an_hour_has_ended() -> None:
    """Without backfill the first hour is the one in progress; a poll made before it ends stores that,
    so the hour is read when it has ended instead of the start moving on with the clock."""
    clock = Clock()  # 22:00 UTC: 21:00-22:00 has ended, 22:00-23:00 is in progress
    with respx.mock(assert_all_called=True) as router:
        batches = await collect(make_source(Gharchive, {"backfill_hours": 0}, clock), {})
        assert [b.cursor for b in batches] == [{"hour": "2026-11-28-21"}]
        clock.t += timedelta(hours=1, minutes=5)
        route = router.get("https://data.gharchive.org/2026-11-28-22.json.gz").mock(
            return_value=httpx.Response(200, content=archive(as_lines(
                [e for e in EVENTS.json() if e["type"] != "PushEvent"][:1]), members=1)))
        later = await collect(make_source(Gharchive, {"backfill_hours": 0}, clock), batches[-1].cursor)
    assert route.called and later[-1].cursor == {"hour": "2026-11-28-22"}
