"""What the sources reading public pushes share (``github_events``, ``gharchive``): the event shapes,
the options with their credentials, and the fetch of one push's diff.

A ``PushEvent`` payload carries only ``repository_id``, ``push_id``, ``ref``, ``head`` and ``before``
(no ``commits``), so each push is fetched as ``GET /repos/{o}/{r}/compare/{before}...{head}`` (a new
branch, ``before`` all zeros: ``GET /repos/{o}/{r}/commits/{head}``). Every file's ``patch`` is one
document, removed lines included, because they were public. Files without a ``patch`` (binary or too
large) are read from the ``raw_url`` the API gives. A push whose compare lists 300 files (the
compare's limit) is read commit by commit, every commit of every compare page (``per_page=100``,
``Link: rel="next"``). A compare that answers 404/410/451 (the repository was deleted or made private
since the push) is skipped; one that fails transiently is parked and fetched again later.

A push is one :class:`~sources.base.Fetch` keyed ``push:{repository id}:{head}``: when the engine
runs the fetch queue, whichever source sees a push first queues it and it is fetched once.
Docs: https://docs.github.com/en/rest/commits/commits#compare-two-commits
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from crawler.config.model import Url
from crawler.kernel.errors import MalformedPage
from sources._github_auth import Credential, CredentialPool, GithubApp, credentials
from sources.base import (
    Document,
    Fetch,
    Outcome,
    Shape,
    Skip,
    Source,
    SourceContext,
    SourceOptions,
    TokenSourceOptions,
    cap,
    guard,
    next_link,
    parse_time,
    raw_document,
    raw_ref,
    validate,
)

ZERO_SHA = "0" * 40
MAX_FILE_PAGES = 10  # the commit endpoint pages files up to 3000
MAX_COMPARE_PAGES = 30  # commits of one compare, 100 a page
COMPARE_FILES = 300  # a compare lists at most 300 files for the whole comparison


class GithubOptions(TokenSourceOptions):
    api_url: Url = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    token_envs: list[str] = Field(default_factory=list)
    """More personal tokens (environment variable names), each with its own budget."""
    apps: list[GithubApp] = Field(default_factory=list)
    """GitHub App installations (``[[sources.<name>.apps]]``), each with its own budget."""
    fetch_raw: bool = True
    """Read files that have no ``patch`` (binary, too large) from their ``raw_url``."""
    max_queued: int = Field(default=100_000, ge=1)
    """Pushes of this source waiting in the fetch queue at most; past it the oldest are dropped
    (counted in the coverage report)."""


class Repo(Shape):
    name: str
    id: int | None = None


class Actor(Shape):
    login: str = ""


class Event(Shape):
    id: str
    type: str | None = None  # GitHub's OpenAPI schema: "type": {"type": "string", "nullable": true}
    repo: Repo
    actor: Actor | None = None
    payload: dict[str, Any] | None = None
    created_at: str | None = None


class Push(Shape):
    head: str
    before: str
    repository_id: int | None = None


class File(Shape):
    filename: str
    status: str = "modified"
    patch: str | None = None
    raw_url: str | None = None


class Commit(Shape):
    sha: str


class Diff(Shape):
    html_url: str
    files: list[File] | None = None
    commits: list[Commit] | None = None
    total_commits: int | None = None


class GithubPushes(Source):
    """Base of the sources that read public pushes; subclasses list the events (``poll``)."""

    Options = GithubOptions
    default_hosts = ("github.com", "raw.githubusercontent.com")
    options: GithubOptions

    def __init__(self, options: SourceOptions, ctx: SourceContext) -> None:
        super().__init__(options, ctx)
        known: dict[str, Credential] = ctx.shared.setdefault(f"github-credentials {self.options.api_url}", {})
        creds = [known.setdefault(f"{c.name}\0{c.token or c.key}", c) for c in self.credentials(self.options)]
        self.pool = CredentialPool(ctx.name, self.options.api_url, creds, ctx.now)  # budgets shared per engine
        self.ctx = dataclasses.replace(ctx, auth=self.pool)

    @staticmethod
    def credentials(options: GithubOptions) -> list[Credential]:
        return credentials([options.token_env, *options.token_envs], options.apps)

    @classmethod
    def missing_credentials(cls, options: SourceOptions) -> str | None:
        assert isinstance(options, GithubOptions)
        if cls.credentials(options):
            return None
        apps = " and no GitHub App key is readable" if options.apps else ""
        return f"${options.token_env} is not set{apps}; source disabled"

    def headers(self) -> dict[str, str]:
        """API headers; the credential is the pool's (:attr:`SourceContext.auth`)."""
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

    def push_fetch(self, event: Event) -> Fetch | Skip | None:
        """A push as a queue item (``None`` for the other event types; a bad payload is a skip)."""
        if event.type != "PushEvent":
            return None
        try:
            push = validate(self.ctx.name, Push, event.payload or {}, f"PushEvent {event.id} payload")
        except MalformedPage as exc:  # the push alone is skipped
            return Skip(f"{event.repo.name}#{event.id}", "invalid", exc.problem)
        repo = event.repo.id or push.repository_id or event.repo.name
        return Fetch(f"push:{repo}:{push.head}", {"kind": "push", "event": event.model_dump(mode="json")},
                     parse_time(event.created_at))

    async def refetch(self, key: str, ref: Mapping[str, Any]) -> Outcome:
        if ref.get("kind") not in ("push", "commit"):
            return await super().refetch(key, ref)
        event = validate(self.ctx.name, Event, ref.get("event"), "parked PushEvent")
        if ref["kind"] == "commit":
            return await self._commit(event, str(ref.get("sha")))
        return await self.push_documents(event) or Outcome()

    async def push_documents(self, event: Event) -> Outcome | None:
        """The patches of a push; ``None`` for the other event types (only their ids are kept)."""
        if event.type != "PushEvent":
            return None
        ref = {"kind": "push", "event": event.model_dump(mode="json")}
        return await guard(self.ctx, f"{event.repo.name}#{event.id}", ref, lambda: self._push(event))

    async def _push(self, event: Event) -> Outcome:
        push = validate(self.ctx.name, Push, event.payload or {}, f"PushEvent {event.id} payload")
        base = f"{self.options.api_url.rstrip('/')}/repos/{event.repo.name}"
        if push.before == ZERO_SHA:
            return await self._diff(event, f"{base}/commits/{push.head}", push.head)
        url = f"{base}/compare/{push.before}...{push.head}?per_page=100"
        resp, data = await self.ctx.document_json(url, headers=self.headers())
        diff = validate(self.ctx.name, Diff, data, "compare")
        if len(diff.files or []) < COMPARE_FILES:
            return await self._documents(event, diff, list(diff.files or []), push.head)
        out = Outcome()  # the file list is cut at 300: read every commit of the push instead
        for sha in await self._all_commits(resp, diff, push.head):
            out += await self._commit(event, sha)
        return out

    async def _commit(self, event: Event, sha: str) -> Outcome:
        """One commit of a large push, guarded alone (parked as ``{"kind": "commit"}``)."""
        url = f"{self.options.api_url.rstrip('/')}/repos/{event.repo.name}/commits/{sha}"
        ref = {"kind": "commit", "event": event.model_dump(mode="json"), "sha": sha}
        return await guard(self.ctx, f"{event.repo.name}@{sha}", ref, functools.partial(self._diff, event, url, sha))

    async def _all_commits(self, resp: Any, diff: Diff, head: str) -> list[str]:
        """Every commit of a compare, across its pages, the head commit included."""
        shas = [c.sha for c in diff.commits or []]
        nxt, asked = next_link(resp), {str(resp.request.url)}
        for _ in range(MAX_COMPARE_PAGES - 1):
            if nxt is None or nxt in asked or (diff.total_commits is not None and len(shas) >= diff.total_commits):
                break  # the last page, a page that repeats itself, or every commit listed
            asked.add(nxt)
            resp, data = await self.ctx.document_json(nxt, headers=self.headers())
            shas += [c.sha for c in validate(self.ctx.name, Diff, data, "compare").commits or []]
            nxt = next_link(resp)
        return list(dict.fromkeys([*shas, head]))

    async def _diff(self, event: Event, url: str, sha: str) -> Outcome:
        diff, files = await self._diff_files(url)
        return await self._documents(event, diff, files, sha)

    async def _diff_files(self, url: str) -> tuple[Diff, list[File]]:
        """A commit response plus all its files (the commit endpoint pages them)."""
        resp, data = await self.ctx.document_json(url, headers=self.headers())
        diff = validate(self.ctx.name, Diff, data, "commit diff")
        files, nxt, asked = list(diff.files or []), next_link(resp), {str(resp.request.url)}
        for _ in range(MAX_FILE_PAGES - 1):
            if nxt is None or nxt in asked:  # the last page, or one that repeats itself
                break
            asked.add(nxt)
            resp, data = await self.ctx.document_json(nxt, headers=self.headers())
            files += validate(self.ctx.name, Diff, data, "commit diff").files or []
            nxt = next_link(resp)
        return diff, files

    async def _documents(self, event: Event, diff: Diff, files: list[File], sha: str) -> Outcome:
        meta = {"repo": event.repo.name, "commit": sha, "author": event.actor.login if event.actor else "",
                "event_id": event.id}
        published = parse_time(event.created_at)
        out = Outcome()
        for f in files:
            key = f"{event.repo.name}@{sha}:{f.filename}"
            if f.patch is not None:
                content, truncated = cap(f.patch.encode(errors="replace"), self.ctx.max_document_bytes)
                out += Outcome((Document(url=diff.html_url, content=content, source=self.ctx.name, key=key,
                                         published_at=published, path=f.filename, is_patch=True,
                                         truncated=truncated, meta=meta),))
            elif self.options.fetch_raw and f.raw_url and f.status != "removed":
                ref = raw_ref(f.raw_url, diff.html_url, key=key, published_at=published, path=f.filename, meta=meta)
                out += await guard(self.ctx, key, ref, functools.partial(raw_document, self.ctx, ref))
        return out
