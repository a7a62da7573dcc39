"""GH Archive: every public event of GitHub, one gzip NDJSON file per hour → pushes → their patches
(the backfill lane).

``GET {archive_url}/YYYY-MM-DD-H.json.gz`` (UTC; the hour without a leading zero) holds the events of
that hour, one JSON object per line, the same shape as the events API. The file is read **streamed**
(raw bytes through a ``zlib`` decompressor, gzip members one after the other, line by line), never an
hour in memory; only ``PushEvent`` lines are parsed. A push is fetched as :mod:`sources._github`
describes — through the store's fetch queue when the engine runs one, so a push the events feed saw
first is not fetched again, and the other way round.

Cursor: ``{"hour": last completed hour}`` plus, inside an hour, ``{"partial": hour, "line": n}`` (a
restart skips the lines already queued). The first poll reads the last ``backfill_hours`` hours that
have ended. An hour not yet published (404) is waited for: asked again after ``interval``.
A line that is not JSON, or a push the shapes do not fit, is skipped alone; a file whose gzip
breaks is skipped from there on (recorded), never a poll that fails for good.
Docs: https://www.gharchive.org/ ("Hourly archives", "Event types").
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from crawler.config.model import Url
from crawler.http import host_of
from crawler.kernel.errors import MalformedPage, SourceUnavailable
from sources._github import Event, GithubOptions, GithubPushes
from sources.base import Batch, Fetch, Outcome, Skip, SourceOptions, prefetched, validate

logger = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
CHUNK = 1000
"""Pushes per batch (one cursor write, one queue transaction)."""
READ = 1 << 16
PUSH = b'"PushEvent"'
GZIP_MAGIC = b"\x1f\x8b"


class GharchiveOptions(GithubOptions):
    archive_url: Url = "https://data.gharchive.org"
    backfill_hours: int = Field(default=2, ge=0, le=24 * 31)
    """Hours that have already ended read on the first start (0: start with the hour in progress)."""


def hour_name(at: datetime) -> str:
    return f"{at:%Y-%m-%d}-{at.hour}"


def parse_hour(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    day, _, hour = value.rpartition("-")
    try:
        return datetime.strptime(day, "%Y-%m-%d").replace(hour=int(hour), tzinfo=UTC)
    except ValueError:
        return None


class Gharchive(GithubPushes):
    """The hourly GH Archive files; each ``PushEvent`` is one queued push (or, without the fetch
    queue, one batch with a document per changed file)."""

    name = "gharchive"
    Options = GharchiveOptions
    lane = "backfill"
    options: GharchiveOptions

    @classmethod
    def hosts(cls, options: SourceOptions) -> tuple[str, ...]:
        archive = getattr(options, "archive_url", "")
        return (*super().hosts(options), *((host_of(archive),) if archive else ()))

    async def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        ended = self.ctx.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0) - HOUR
        done = parse_hour(cursor.get("hour"))
        pin = done is None  # the first poll: where it starts is stored even if no hour can be read yet
        done = done or ended - HOUR * self.options.backfill_hours
        hour = done + HOUR
        skip = int(cursor.get("line") or 0) if cursor.get("partial") == hour_name(hour) else 0
        while hour <= ended:
            url = f"{self.options.archive_url.rstrip('/')}/{hour_name(hour)}.json.gz"
            if not self.ctx.may_page(url):  # the poll's budgets are spent: the next poll goes on from this hour
                break
            self.ctx.page(url)
            published = True
            async for batch in self._hour(hour, done, skip):
                if batch is None:
                    published = False
                    break
                pin = False
                yield batch
            if not published:  # not there yet: asked again after the interval
                logger.info("%s: hour %s not published yet", self.ctx.name, hour_name(hour))
                break
            done, hour, skip = hour, hour + HOUR, 0
        if pin:
            yield Batch([], {"hour": hour_name(done)})

    async def _hour(self, hour: datetime, done: datetime, skip: int) -> AsyncIterator[Batch | None]:
        """The batches of one hour (``None`` once if the file is not published yet)."""
        name = hour_name(hour)
        url = f"{self.options.archive_url.rstrip('/')}/{name}.json.gz"
        pushes: list[tuple[int, Fetch]] = []
        skipped: list[Skip] = []
        try:
            async for line_no, line in self._lines(url, name):
                if line_no <= skip or PUSH not in line:
                    continue
                found = self._line_push(name, line_no, line)
                if isinstance(found, Fetch):
                    pushes.append((line_no, found))
                elif found is not None:
                    skipped.append(found)
                if len(pushes) >= CHUNK:
                    async for batch in self._batches(pushes, skipped, hour_name(done), name, line_no):
                        yield batch
                    pushes, skipped = [], []
        except _NotPublished:
            yield None
            return
        except _Broken as exc:
            skipped.append(Skip(f"{name}:{exc.line}", "invalid", exc.problem))
        async for batch in self._batches(pushes, skipped, hour_name(done), name, None):
            yield batch

    def _line_push(self, name: str, line_no: int, line: bytes) -> Fetch | Skip | None:
        try:
            event = validate(self.ctx.name, Event, json.loads(line), f"{name} line {line_no}")
        except (ValueError, UnicodeDecodeError):
            return Skip(f"{name}:{line_no}", "invalid", f"{name} line {line_no} is not JSON")
        except MalformedPage as exc:
            return Skip(f"{name}:{line_no}", "invalid", exc.problem)
        return self.push_fetch(event)

    async def _batches(self, pushes: list[tuple[int, Fetch]], skipped: list[Skip], done: str, name: str,
                       upto: int | None) -> AsyncIterator[Batch]:
        """Queued: one batch up to line ``upto`` (``None``: the whole hour). Inline: one batch per push."""
        def cursor(line: int | None) -> dict[str, Any]:
            return {"hour": name} if line is None else {"hour": done, "partial": name, "line": line}

        if self.ctx.queue or not pushes:
            yield Batch([], cursor(upto), skipped=skipped, queued=[f for _, f in pushes])
            return
        if skipped:
            yield Batch([], cursor(pushes[0][0] - 1), skipped=skipped)
        events = [(n, validate(self.ctx.name, Event, f.ref["event"], "push")) for n, f in pushes]
        async for (n, _), got in prefetched(events, lambda e: self.push_documents(e[1]), self.ctx.prefetch):
            last = n == pushes[-1][0]
            yield (got or Outcome()).batch(cursor(upto if last else n))

    async def _lines(self, url: str, name: str) -> AsyncIterator[tuple[int, bytes]]:
        """``(line number, line)`` of the file at ``url``, streamed and decompressed."""
        client = self.ctx.client
        request = client.build_request("GET", url)

        async def call() -> httpx.Response:
            resp = await client.send(request, stream=True)
            if resp.status_code != 200:
                await resp.aread()
            return resp

        resp = await self.ctx.policy.send(self.ctx.name, call)
        if resp.status_code == 404:
            raise _NotPublished
        if resp.status_code != 200:
            raise SourceUnavailable(self.ctx.name, f"HTTP {resp.status_code} from {url}")
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        rest, n, limit, first = b"", 0, self.ctx.max_page_bytes, True
        try:
            async for chunk in resp.aiter_raw(READ):
                if first and chunk:
                    first = False
                    if not chunk.startswith(GZIP_MAGIC):  # not an archive at all (an error page): the whole poll
                        raise MalformedPage(self.ctx.name, f"{name}: not a gzip file")
                data = b""
                while chunk:
                    try:
                        data += unzip.decompress(chunk, limit)
                    except zlib.error as exc:
                        raise _Broken(n + 1, f"{name}: gzip broken after line {n}: {exc}") from None
                    chunk = unzip.unconsumed_tail
                    if unzip.eof and unzip.unused_data:  # the next gzip member
                        chunk, unzip = unzip.unused_data + chunk, zlib.decompressobj(16 + zlib.MAX_WBITS)
                    *lines, rest = (rest + data).split(b"\n")
                    data = b""
                    for line in lines:
                        n += 1
                        yield n, line
                    if len(rest) > limit:
                        raise _Broken(n + 1, f"{name}: line {n + 1} is longer than {limit} bytes")
        except httpx.TransportError as exc:
            raise SourceUnavailable(self.ctx.name, f"{name}: read failed after line {n} "
                                                   f"({type(exc).__name__})") from None
        finally:
            await resp.aclose()
        if rest.strip():
            n += 1
            yield n, rest
        if not unzip.eof:
            raise _Broken(n + 1, f"{name}: gzip ends inside a member after line {n}")


class _NotPublished(Exception):
    pass


class _Broken(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem
