"""The ``Source`` contract and the ``Document`` value.

A source fetches and yields documents; it never scans, logs findings or sends anything.

Cursor contract: :meth:`Source.poll` yields :class:`Batch` es. Each batch carries the cursor to store
once *every* document in it has been accepted by the pipeline, so the cursor never moves past a
document that was not processed. A source that learns when it may poll next (``X-Poll-Interval``,
``Retry-After``) sets :attr:`Source.not_before`; rate limits that outlast the retry policy are raised
as :class:`crawler.kernel.errors.RateLimited` and the engine stores the back-off.

One bad document never stops a source: a per-document fetch runs under :func:`guard`, which turns a
document that cannot be had (404/410/451, an answer that is not content, an item that fails
validation) into a :class:`Skip` and a transient failure that outlived the retry policy (5xx,
timeout, reset, "not ready yet") into a :class:`Park`. Both travel in the batch; the engine counts
and logs skips and stores parked documents, which it hands back to :meth:`Source.refetch` later.
Listing-level failures still raise, and the source backs off as a whole.

Size: the contract, its value types and the few helpers every source shares (seen-window, time
parsing, capped raw fetches, per-document outcomes) are one module, so a source author reads one file.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import json
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeGuard, TypeVar, cast

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from crawler.config.model import Duration, PluginOptions, Url, secret
from crawler.http import Body, read_capped
from crawler.kernel.clock import utcnow
from crawler.kernel.errors import (
    BudgetSpent,
    DocumentNotReady,
    DocumentSkipped,
    ForbiddenURL,
    MalformedPage,
    SourceUnavailable,
)
from crawler.kernel.retry import RetryPolicy, clamp_wait

logger = logging.getLogger(__name__)


class SourceOptions(PluginOptions):
    """Keys every ``[sources.*]`` table accepts."""

    enabled: bool = True
    api_url: Url
    interval: Duration = 60.0
    """Time between polls; never faster than the server's ``X-Poll-Interval``."""
    backfill_pages: int = Field(default=3, ge=0, le=100)
    """Pages processed on the first poll (no cursor yet)."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """Hosts this source may fetch besides ``api_url``'s host (replaces the source's defaults)."""
    document_give_up_after: Duration = 86400.0
    """A parked document (its fetch failed transiently) is fetched again with back-off for this long
    after its first failure, then recorded as skipped (``reason="gave_up"``)."""


class TokenSourceOptions(SourceOptions):
    """Sources that need an API token; missing → the source disables itself with one log line."""

    token_env: str


@dataclass(frozen=True)
class Document:
    """One fetched document.

    ``url`` is the page a human opens (commit, gist, snippet, paste); ``key`` is unique within the
    source (the engine's seen-set); ``is_patch`` marks unified-diff content (``location.line`` is
    then mapped to the new file); ``meta`` holds repo, commit, author, paste key … as available.
    """

    url: str
    content: bytes = field(repr=False)
    source: str
    key: str
    published_at: datetime | None = None
    path: str | None = None
    is_patch: bool = False
    truncated: bool = False
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    """A document that cannot be had for good: counted in ``leakpatrol_documents_skipped_total``
    with ``reason`` (a short label: ``gone``, ``http_error``, ``invalid``, ``not_content``,
    ``forbidden_url``, ``gave_up``) and logged with ``detail`` (never content)."""

    key: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Park:
    """A document whose fetch failed transiently: stored by the engine and handed back to
    :meth:`Source.refetch` with ``ref`` (JSON values: what the source needs to fetch it again) after
    a back-off, at least ``retry_after`` seconds when the service asked for a wait."""

    key: str
    ref: Mapping[str, Any]
    reason: str
    detail: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Fetch:
    """An item a listing found, to be fetched later through the store's fetch queue (when the engine
    runs one, see :attr:`SourceContext.queue`): the engine hands ``ref`` to :meth:`Source.refetch` of
    the source that queued ``key`` first, once across sources and processes, newest first."""

    key: str
    ref: Mapping[str, Any]
    published_at: datetime | None = None


@dataclass(frozen=True)
class Batch:
    """Documents plus the cursor to store once all of them are accepted, and the documents of the
    same stretch that were skipped, parked or queued (the cursor moves past those too)."""

    documents: Sequence[Document]
    cursor: Mapping[str, Any]
    skipped: Sequence[Skip] = ()
    parked: Sequence[Park] = ()
    queued: Sequence[Fetch] = ()


@dataclass(frozen=True)
class Outcome:
    """What fetching one item gave: documents, and what was skipped or parked on the way."""

    documents: tuple[Document, ...] = ()
    skipped: tuple[Skip, ...] = ()
    parked: tuple[Park, ...] = ()

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.documents + other.documents, self.skipped + other.skipped,
                       self.parked + other.parked)

    def batch(self, cursor: Mapping[str, Any]) -> Batch:
        return Batch(self.documents, cursor, self.skipped, self.parked)



@dataclass
class SourceContext:
    """What the engine hands a source: its name, HTTP client, retry policy and limits."""

    name: str
    client: httpx.AsyncClient
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    prefixes: Sequence[str] = ()
    max_document_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 32 * 1024 * 1024
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    now: Callable[[], datetime] = utcnow
    prefetch: int = 8
    """Documents fetched ahead of the pipeline (ordered; see :func:`prefetched`)."""
    queue: bool = False
    """The engine runs the store's fetch queue: a source with a :attr:`Source.lane` yields its
    per-item fetches as :class:`Fetch` es instead of fetching them inline."""
    auth: httpx.Auth | None = None
    """Credentials applied to every request (a source's own, e.g. its GitHub credential pool)."""
    shared: dict[str, Any] = field(default_factory=dict)
    """State the sources of one engine share (the engine passes one dict to all): e.g. the budget left
    on a GitHub credential that two sources spend."""
    fetch_deadline: float = 60.0
    """Total seconds one request may take, body included (``[http] fetch_deadline``)."""
    max_crawl_delay: float = 60.0
    """Longest ``Crawl-delay`` honoured (``[http] max_crawl_delay``)."""
    max_server_wait: float = 3600.0
    """Longest wait a server can impose (``[http] max_server_wait``)."""
    max_poll_bytes: int = 256 * 1024 * 1024
    """Bytes one poll may read (``[http] max_poll_bytes``); past it, requests raise :class:`BudgetSpent`."""
    max_poll_pages: int = 100
    """Listing pages one poll may request (``[http] max_poll_pages``); past it a listing stops paging
    (:class:`Listing`) and :meth:`page` raises :class:`BudgetSpent`."""
    spent: int = 0
    """Bytes read in this poll so far (:meth:`new_poll` resets it)."""
    pages: int = 0
    """Listing pages requested in this poll so far (:meth:`new_poll` resets it)."""
    _told: bool = field(default=False, repr=False)

    def new_poll(self) -> None:
        """A poll starts: its budgets are whole again (the runner calls this)."""
        self.spent, self.pages, self._told = 0, 0, False

    @property
    def budget_spent(self) -> bool:
        """A listing stops paging here, so that the documents it has are fetched in this poll."""
        return self.spent >= self.max_poll_bytes

    @property
    def pages_spent(self) -> bool:
        return self.pages >= self.max_poll_pages

    def may_page(self, url: str) -> bool:
        """Whether a listing may request one more page: not once the poll's page or byte budget is
        spent (then the listing stops, its documents are fetched, and the poll ends keeping its
        progress; logged once per poll)."""
        if not (self.pages_spent or self.budget_spent):
            return True
        if not self._told:
            self._told = True
            logger.info("%s: listing stopped before %s: this poll %s; the rest comes next poll", self.name,
                        url.split("?")[0], f"requested its {self.max_poll_pages} pages (max_poll_pages)"
                        if self.pages_spent else f"read its {self.max_poll_bytes} bytes (max_poll_bytes)")
        return False

    def page(self, url: str) -> None:
        """Count one listing page this poll requests; past ``max_poll_pages`` the poll ends here
        (:class:`BudgetSpent`: not a failure, the batches yielded so far are kept)."""
        if self.pages_spent:
            raise BudgetSpent(self.name, f"this poll requested its {self.max_poll_pages} listing pages "
                                         f"(max_poll_pages); {url.split('?')[0]} comes next poll")
        self.pages += 1

    def after(self, seconds: float, what: str) -> datetime:
        """The moment ``seconds`` from now a server asked for (``X-Poll-Interval``), clamped to
        ``max_server_wait`` and logged when clamped."""
        return self.now() + timedelta(seconds=clamp_wait(seconds, self.max_server_wait, self.name, what))

    async def request(self, url: str, *, params: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None, max_bytes: int | None = None) -> Body:
        """GET under the retry policy, body read under a cap (raises SourceError subclasses)."""
        cap = max_bytes or self.max_page_bytes
        if self.budget_spent:
            raise BudgetSpent(self.name, f"this poll read its {self.max_poll_bytes} bytes; the rest comes next poll")

        auth: dict[str, Any] = {"auth": self.auth} if self.auth is not None else {}

        async def call() -> httpx.Response:
            try:
                async with asyncio.timeout(self.fetch_deadline):  # a trickled body cannot hold the fetch
                    body = await read_capped(self.client, "GET", url, max_bytes=cap, params=params,
                                             headers=headers, **auth)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no complete answer within {self.fetch_deadline:g}s") from None
            resp = body.response
            resp._content = body.content  # the capped content, so classification can read it
            resp.extensions = {**resp.extensions, "leakpatrol_truncated": body.truncated}
            return resp

        resp = await self.policy.send(self.name, call)
        self.spent += len(resp.content)
        return Body(resp, resp.content, bool(resp.extensions.get("leakpatrol_truncated")))

    async def document_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """GET the JSON of one document (a compare, a commit, a file): a non-2xx answer is
        :class:`DocumentSkipped` (``gone`` for 404/410/451), not a failure of the whole poll."""
        body = await self.request(url, headers=headers)
        resp = body.response
        where = resp.request.url.copy_with(query=None)
        if not 200 <= resp.status_code < 300:
            raise DocumentSkipped(self.name, skip_reason(resp.status_code),
                                  f"HTTP {resp.status_code} from {where}{github_message(body.content)}")
        if body.truncated:
            raise DocumentSkipped(self.name, "invalid", f"{where} is larger than {self.max_page_bytes} bytes")
        try:
            return resp, json.loads(body.content)
        except (ValueError, UnicodeDecodeError):
            raise DocumentSkipped(self.name, "invalid", f"invalid JSON from {where}") from None

    async def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """GET a JSON API listing page (counted against ``max_poll_pages``: see :meth:`page`).
        304 → ``(resp, None)``. Non-2xx or bad JSON → :class:`MalformedPage`."""
        self.page(url)
        body = await self.request(url, params=params, headers=headers)
        resp = body.response
        if resp.status_code == 304:
            return resp, None
        where = resp.request.url.copy_with(query=None)
        if not 200 <= resp.status_code < 300:
            raise MalformedPage(self.name, f"HTTP {resp.status_code} from {where}")
        if body.truncated:
            raise MalformedPage(self.name, f"page larger than {self.max_page_bytes} bytes")
        try:
            return resp, json.loads(body.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedPage(self.name, f"invalid JSON from {where}: {exc}") from None


class Listing:
    """The pages of one listing in one poll: it stops at the last page (no next one), at the
    source's own ``limit``, at a page it requested already (a listing that repeats itself: a
    ``Link: next`` pointing back, a page number that does not move), and when the poll's page or
    byte budget is spent (:meth:`SourceContext.may_page`). Each of those ends the listing, never the
    poll: the items of the pages it has are still fetched, and the cursor keeps the progress."""

    def __init__(self, ctx: SourceContext, limit: int) -> None:
        self.ctx, self.limit, self.count = ctx, limit, 0
        self.visited: set[str] = set()

    @staticmethod
    def _where(url: str, params: Mapping[str, Any] | None) -> str:
        return str(httpx.URL(url).copy_merge_params(dict(params)) if params else httpx.URL(url))

    def more(self, url: str | None, params: Mapping[str, Any] | None = None) -> TypeGuard[str]:
        """Whether to request ``url`` (``None``: there is no next page) as this listing's next page."""
        if url is None or self.count >= self.limit:
            return False
        if self._where(url, params) in self.visited:
            logger.warning("%s: listing stopped at %s: it repeats itself", self.ctx.name, url.split("?")[0])
            return False
        return self.ctx.may_page(url)

    async def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                       headers: Mapping[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """:meth:`SourceContext.get_json`, remembered as visited (as asked and as requested)."""
        self.count += 1
        self.visited.add(self._where(url, params))
        resp, data = await self.ctx.get_json(url, params=params, headers=headers)
        self.visited.add(str(resp.request.url))
        return resp, data


class Source(abc.ABC):
    """A public source. Subclasses set ``name`` (= module name = config table) and ``Options``."""

    name: ClassVar[str]
    Options: ClassVar[type[SourceOptions]]
    multi: ClassVar[bool] = False
    """True for sources configured as a list of tables (each instance has its own ``name``)."""
    default_hosts: ClassVar[tuple[str, ...]] = ()
    """Raw-content hosts fetched besides the API host (overridden by ``allowed_hosts``)."""
    lane: ClassVar[str | None] = None
    """``"realtime"`` or ``"backfill"`` for a source whose per-item fetches go through the store's
    fetch queue (:class:`Fetch`); the coverage report counts each lane."""

    def __init__(self, options: SourceOptions, ctx: SourceContext) -> None:
        self.options = options
        self.ctx = ctx
        self.not_before: datetime | None = None

    @classmethod
    def missing_credentials(cls, options: SourceOptions) -> str | None:
        """Why this source cannot run (one log line), or ``None`` when it can."""
        env = getattr(options, "token_env", None)
        if env and secret(env) is None:
            return f"${env} is not set; source disabled"
        return None

    @classmethod
    def hosts(cls, options: SourceOptions) -> tuple[str, ...]:
        return tuple(options.allowed_hosts) or cls.default_hosts

    @abc.abstractmethod
    def poll(self, cursor: Mapping[str, Any]) -> AsyncIterator[Batch]:
        """Yield batches of new documents since ``cursor`` (empty mapping on the first poll)."""

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        """Fetch a parked document again from the ``ref`` its :class:`Park` carried. The base class
        knows ``{"kind": "raw", …}`` (see :func:`raw_ref`); a source with other kinds overrides this
        and calls ``super()`` for the rest."""
        if ref.get("kind") == "raw":
            return await guard(self.ctx, key, ref, lambda: raw_document(self.ctx, ref))
        return Outcome(skipped=(Skip(key, "invalid", f"cannot re-fetch a parked {ref.get('kind')!r} document"),))


# ---------------------------------------------------------------------------------------------
# helpers shared by the source modules (pure functions; no I/O except through the context)

T = TypeVar("T")
R = TypeVar("R")


class Shape(BaseModel):
    """Base of the small models that check an API response has the documented shape.

    Only the fields a source reads are declared; anything else the service adds is ignored.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


@functools.lru_cache(maxsize=64)
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def validate_items(source: str, shape: type[T], data: object, what: str,
                   key: Callable[[object], str] = lambda item: "") -> tuple[list[T], list[Skip]]:
    """A listing item by item: the items that have ``shape`` and a :class:`Skip` for each that does
    not (unknown or null fields the source does not read never reject anything). Only a listing that
    is not a JSON array at all is :class:`MalformedPage`."""
    if not isinstance(data, list):
        raise MalformedPage(source, f"{what}: expected a JSON array, got {type(data).__name__}")
    items: list[T] = []
    skipped: list[Skip] = []
    for n, item in enumerate(data):
        try:
            items.append(validate(source, shape, item, what))
        except MalformedPage as exc:
            label = key(item) if isinstance(item, dict) else ""
            skipped.append(Skip(label or f"{what}[{n}]", "invalid", exc.problem))
    return items, skipped


def item_key(*fields: str) -> Callable[[object], str]:
    """The first of ``fields`` an invalid listing item has, as its key in the skip log."""
    def key(item: object) -> str:
        values = item if isinstance(item, dict) else {}
        return next((str(values[f]) for f in fields if values.get(f) is not None), "")
    return key


def validate(source: str, shape: type[T], data: object, what: str) -> T:
    """``data`` as ``shape`` (a :class:`Shape` or a list of them), or :class:`MalformedPage`."""
    try:
        return cast(T, _adapter(cast(Any, shape)).validate_python(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise MalformedPage(source, f"{what}: {where}: {err['msg']}") from None


def next_link(resp: httpx.Response) -> str | None:
    """Target of the RFC 8288 ``Link: <…>; rel="next"`` header, or ``None`` on the last page."""
    link = resp.links.get("next")
    return link.get("url") if link else None


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (``…Z`` or an offset) or epoch seconds (number or digit string) → aware UTC."""
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return None



def remember(seen: Sequence[str], new: Iterable[str], limit: int) -> list[str]:
    """A bounded, ordered seen-list: ``seen`` plus ``new``, oldest entries dropped past ``limit``."""
    out = [*seen, *new]
    return out[-limit:] if len(out) > limit else out


class SeenWindow:
    """Items already processed, as marks ``key@time``, for listings queried with a time overlap
    (``since`` minus a second, since timestamps have one-second resolution). A mark is kept while its
    item can still come back in that overlap — however many items share one second — and dropped
    after; marks are added in time order, so pruning only ever cuts from the front and a snapshot
    for a cursor is one list slice. Marks without a time (older cursors) are dropped at once:
    :meth:`before` already skips the items they stood for."""

    def __init__(self, marks: Sequence[str], overlap: float = 1.0, limit: int = 50_000) -> None:
        self.marks: list[str] = []
        self.times: list[float] = []
        self.known: set[str] = set()
        self.start = 0
        self.overlap, self.limit = overlap, limit
        for mark in marks:
            self.add(mark)

    def __contains__(self, mark: object) -> bool:
        return mark in self.known

    def add(self, mark: str) -> None:
        if mark in self.known:
            return
        at = parse_time(mark.rpartition("@")[2]) if "@" in mark else None
        self.marks.append(mark)
        self.times.append(at.timestamp() if at else float("-inf"))
        self.known.add(mark)

    def before(self, at: datetime | None, since: datetime | None) -> bool:
        """True for an item older than the overlap: processed already, whatever the server lists."""
        return at is not None and since is not None and at.timestamp() < self._floor(since)

    def _floor(self, since: datetime) -> float:
        # Cursors store whole seconds (``iso``), so the next listing starts at most a second earlier.
        return math.floor(since.timestamp()) - self.overlap

    def snapshot(self, since: datetime | None) -> list[str]:
        """The marks the next listing (from ``since`` minus the overlap) can still return."""
        if since is not None:
            floor = self._floor(since)
            while self.start < len(self.marks) and self.times[self.start] < floor:
                self.known.discard(self.marks[self.start])
                self.start += 1
        return self.marks[max(self.start, len(self.marks) - self.limit):]


def cap(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Content that arrived inside a JSON page, cut to ``max_document_bytes``: ``(bytes, truncated)``."""
    return (data[:limit], True) if len(data) > limit else (data, False)


def seen_list(cursor: Mapping[str, Any], key: str = "seen") -> list[str]:
    """A stored seen-list from a cursor (anything else stored there is ignored)."""
    value = cursor.get(key)
    return [str(v) for v in value] if isinstance(value, list) else []


GONE = frozenset({404, 410, 451})
"""Statuses that mean a document is gone for good: deleted, made private, or blocked for legal reasons."""


def skip_reason(status: int) -> str:
    return "gone" if status in GONE else "http_error"


def github_message(content: bytes) -> str:
    """``: Not Found`` from GitHub's (and GitLab's) JSON error body ``{"message": …}``, for the log."""
    try:
        message = json.loads(content[:4096]).get("message")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
    return f": {message[:100]}" if isinstance(message, str) else ""


async def fetch_raw(ctx: SourceContext, url: str, *, headers: Mapping[str, str] | None = None) -> Body:
    """Raw document content (capped). A non-2xx answer is :class:`DocumentSkipped` (``gone`` for
    404/410/451), so one deleted file never stalls the cursor; run it under :func:`guard`."""
    body = await ctx.request(url, headers=headers, max_bytes=ctx.max_document_bytes)
    status = body.response.status_code
    if not 200 <= status < 300:
        raise DocumentSkipped(ctx.name, skip_reason(status), f"HTTP {status} fetching {url}")
    return body


def raw_ref(url: str, doc_url: str, *, key: str, published_at: datetime | None = None, path: str | None = None,
            meta: Mapping[str, str] | None = None, auth: bool = False) -> dict[str, Any]:
    """The ``ref`` of a document read whole from ``url`` (JSON values only: it is stored when parked).
    ``auth`` = send the source's own credentials (only to its API host)."""
    return {"kind": "raw", "url": url, "doc_url": doc_url, "key": key, "path": path, "auth": auth,
            "published_at": published_at.isoformat() if published_at else None, "meta": dict(meta or {})}


async def raw_document(ctx: SourceContext, ref: Mapping[str, Any],
                       headers: Mapping[str, str] | None = None) -> Outcome:
    """Fetch the document a :func:`raw_ref` describes."""
    body = await fetch_raw(ctx, str(ref["url"]), headers=headers if ref.get("auth") else None)
    return Outcome((Document(url=str(ref["doc_url"]), content=body.content, source=ctx.name, key=str(ref["key"]),
                             published_at=parse_time(ref.get("published_at")), path=ref.get("path") or None,
                             truncated=body.truncated, meta=dict(ref.get("meta") or {})),))


async def guard(ctx: SourceContext, key: str, ref: Mapping[str, Any],
                fetch: Callable[[], Awaitable[Outcome]]) -> Outcome:
    """Run one item's fetch so that its failure stays its own: a document that cannot be had is a
    :class:`Skip`, a transient failure a :class:`Park` (with ``ref``, to fetch it again). Rate limits
    and configuration problems (:class:`~crawler.kernel.errors.RateLimited`,
    :class:`~crawler.kernel.errors.SourceDisabled`) still stop the poll: they hold for every item."""
    try:
        return await fetch()
    except DocumentSkipped as exc:
        return Outcome(skipped=(Skip(key, exc.reason, exc.problem),))
    except MalformedPage as exc:
        return Outcome(skipped=(Skip(key, "invalid", exc.problem),))
    except ForbiddenURL as exc:
        return Outcome(skipped=(Skip(key, "forbidden_url", exc.problem),))
    except DocumentNotReady as exc:
        return Outcome(parked=(Park(key, ref, "not_ready", exc.problem, exc.retry_after),))
    except SourceUnavailable as exc:
        return Outcome(parked=(Park(key, ref, "unavailable", exc.problem),))



async def prefetched(items: Iterable[T], fetch: Callable[[T], Awaitable[R]],
                     window: int) -> AsyncIterator[tuple[T, R]]:
    """``(item, await fetch(item))`` in the order of ``items``, with up to ``window`` fetches in flight
    ahead of the consumer. Batches therefore still come out oldest first and the cursor semantics hold;
    the network waits overlap with the pipeline's work. A failed fetch raises when its turn comes,
    and the fetches ahead of it are cancelled."""
    it = iter(items)
    ahead: deque[tuple[T, asyncio.Task[R]]] = deque()

    def launch() -> None:
        for item in it:
            ahead.append((item, asyncio.ensure_future(fetch(item))))
            return

    for _ in range(max(1, window)):
        launch()
    try:
        while ahead:
            item, task = ahead.popleft()
            result = await task
            launch()
            yield item, result
    finally:
        for _, task in ahead:
            task.cancel()
        if ahead:
            await asyncio.gather(*(t for _, t in ahead), return_exceptions=True)
