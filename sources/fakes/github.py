"""A fake GitHub REST API: public events, compare, commits, public gists, code search, contents.

Shapes follow docs.github.com/rest (activity/events, commits/commits#compare-two-commits,
commits/commits#get-a-commit, gists/gists#list-public-gists, search/search#search-code,
repos/contents#get-repository-content). ``PushEvent`` payloads have the current shape
(``repository_id``, ``push_id``, ``ref``, ``head``, ``before``; no ``commits``), so a client must
fetch the compare (or the commit, for a new branch whose ``before`` is 40 zeros).

Every event also goes to the hour's GH Archive file, ``/archive/YYYY-MM-DD-H.json.gz`` (gzip NDJSON,
served once the hour has ended; 404 before, as data.gharchive.org answers for an hour not yet
published): the archive and the events feed are fed from the same push stream.

``/events`` sends a weak ``ETag`` (``If-None-Match`` → 304, which costs no quota), ``X-Poll-Interval``
and ``Link``; every response carries ``X-RateLimit-*``. Human URLs live under ``/web`` and raw gist
files under ``/raw/gist`` on the same loopback server.

Size: one service, since the events feed, the archive, compare/commits and the raw files all read
the same commits and events; gists and code search live in ``github_data``.
"""

from __future__ import annotations

import calendar
import dataclasses
import gzip
import hashlib
import itertools
import json
import math
import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sources.fakes.base import Fake, SourceTable
from sources.fakes.github_data import GistAPI, SearchAPI, not_found
from sources.fakes.gitrepo import ZERO_SHA, Commit, Repo, commit_object, diff_trees, file_entry, user
from sources.fakes.service import (
    Bounded,
    Published,
    RateWindow,
    Service,
    int_param,
    iso,
    json_response,
    link_header,
    sha1_hex,
)

MAX_EVENTS = 300  # GitHub: "Only events created within the past 90 days … up to 300 events"
DOCS = "https://docs.github.com/rest"
TOKEN_ENV = "GITHUB_TOKEN"
FAKE_TOKEN = "sandbox-github-token"


class GitHubService(Service):
    """The fake ``api.github.com`` (plus the raw hosts it links to). Publish with :meth:`publish_push`."""

    name = "github"
    prefix = "/github"

    def __init__(self, *, poll_interval: float = 60.0, rate_limit: int = 5000, search_rate_limit: int = 30,
                 max_items: int = 5000) -> None:
        self.core = RateWindow("core", rate_limit, 3600.0)
        self.search_quota = RateWindow("search", search_rate_limit, 60.0)
        self.events: list[dict[str, Any]] = []
        self.archive: dict[str, list[dict[str, Any]]] = {}
        """GH Archive: hour (``YYYY-MM-DD-H``) → every event created in it, oldest first."""
        self.repos: Bounded = Bounded(max_items)
        self.commits: Bounded = Bounded(max_items * 4)
        self.gists: Bounded = Bounded(max_items)
        self.blobs: Bounded = Bounded(max_items * 4)
        self._ids = itertools.count(40_000_000_001)
        self._repo_ids = itertools.count(800_000_001)
        self.gist_api, self.search_api = GistAPI(self), SearchAPI(self)
        super().__init__(poll_interval=poll_interval, max_items=max_items)

    @property
    def api(self) -> str:
        return self.base_url

    @property
    def web(self) -> str:
        return self.base_url + "/web"

    def next_id(self) -> int:
        """The next id of the one sequence events, pushes and gists draw from."""
        return next(self._ids)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/events", self.list_events),
            Route("/archive/{hour}.json.gz", self.archive_hour),
            Route("/repos/{owner}/{repo}/compare/{basehead:path}", self.compare),
            Route("/repos/{owner}/{repo}/commits/{ref}", self.get_commit),
            Route("/web/{owner}/{repo}/raw/{sha}/{path:path}", self.raw_file),
            *self.gist_api.routes(),
            *self.search_api.routes(),
        ]

    # ---- publishing --------------------------------------------------------------------------

    def publish_push(self, repo: str, files: dict[str, str], *, removed: dict[str, str] | None = None,
                     ref: str = "refs/heads/main", message: str = "Update files",
                     author: str = "sandbox-dev", lag: float = 0.0) -> Published:
        """Push one commit to ``repo`` (``owner/name``) and put its ``PushEvent`` on top of /events.

        ``files`` are written (added or modified); ``removed`` files existed before the push (a
        hidden earlier commit adds them when needed) and are deleted by it, so their content shows
        as ``-`` lines. A ref seen for the first time is a new branch: ``before`` is 40 zeros.
        """
        now = time.time()
        with self.lock:
            r = self._repo(repo)
            if removed and any(p not in self._tree(r, ref) for p in removed):
                self._commit(r, ref, {**self._tree(r, ref), **removed}, "Add files", author, now)
            before = r.refs.get(ref, ZERO_SHA)
            tree = {**self._tree(r, ref), **files}
            for path in removed or {}:
                tree.pop(path, None)
            commit = self._commit(r, ref, tree, message, author, now)
            self._add_event("PushEvent", r, author, now - lag, {
                "repository_id": r.id, "push_id": next(self._ids), "ref": ref,
                "head": commit.sha, "before": before})
            for path, text in files.items():
                self.search_api.index(r, commit.sha, path, text)
            for path in removed or {}:
                self.blobs.pop(f"{repo}:{path}", None)
        url = f"{self.web}/{repo}/commit/{commit.sha}"
        return Published("github_events", commit.sha, url, now, iso(now))

    def publish_gist(self, files: dict[str, str], *, description: str = "",
                     owner: str = "sandbox-user") -> Published:
        """A public gist; its files' ``raw_url`` point at ``/raw/gist/...`` on this server."""
        return self.gist_api.publish(files, description=description, owner=owner)

    def publish_event(self, kind: str = "WatchEvent", repo: str = "sandbox/noise") -> None:
        """A non-push event (noise a source must skip)."""
        now = time.time()
        with self.lock:
            r = self._repo(repo)
            self._add_event(kind, r, "sandbox-fan", now, {"action": "started"})

    def _repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name)
        if repo is None:
            repo = self.repos[full_name] = Repo(next(self._repo_ids), full_name)
        return repo

    def _tree(self, repo: Repo, ref: str) -> dict[str, str]:
        sha = repo.refs.get(ref) or repo.refs.get("refs/heads/main")
        commit = self.commits.get(sha) if sha else None
        return dict(commit.tree) if commit else {}

    def _commit(self, repo: Repo, ref: str, tree: dict[str, str], message: str, author: str,
                now: float) -> Commit:
        parent = repo.refs.get(ref) or repo.refs.get("refs/heads/main")
        sha = sha1_hex(repo.full_name, parent, sorted(tree.items()), message, now, next(self._ids))
        commit = Commit(sha, repo.full_name, parent, tree, message, iso(now), author)
        self.commits[sha] = commit
        repo.refs[ref] = sha
        return commit

    def _add_event(self, kind: str, repo: Repo, actor: str, now: float, payload: dict[str, Any]) -> None:
        actor_obj = {k: v for k, v in self._user(actor).items() if k in ("id", "login", "gravatar_id", "url",
                                                                         "avatar_url")}
        event = {"id": str(next(self._ids)), "type": kind,
                 "actor": {**actor_obj, "display_login": actor},
                 "repo": {"id": repo.id, "name": repo.full_name, "url": f"{self.api}/repos/{repo.full_name}"},
                 "payload": payload, "public": True, "created_at": iso(now)}
        self.events.insert(0, event)
        del self.events[MAX_EVENTS:]
        self.archive.setdefault(archive_hour(now), []).append(event)

    def _user(self, login: str) -> dict[str, Any]:
        return user(self.api, self.web, login)

    # ---- HTTP --------------------------------------------------------------------------------

    def fault_body(self, status: int) -> tuple[bytes, str]:
        messages = {403: "API rate limit exceeded for 127.0.0.1.", 429: "API rate limit exceeded for 127.0.0.1.",
                    404: "Not Found", 503: "Service Unavailable"}
        body = {"message": messages.get(status, f"HTTP {status}"), "documentation_url": DOCS, "status": str(status)}
        return json.dumps(body).encode(), "application/json; charset=utf-8"

    def respond(self, data: Any, quota: RateWindow | None = None, headers: dict[str, str] | None = None,
                status: int = 200) -> Response:
        """JSON plus the headers every GitHub response carries; 403 when the quota is spent."""
        quota = quota or self.core
        if not quota.take():
            body, media = self.fault_body(403)
            return Response(body, 403, headers=quota.headers(), media_type=media)
        base = {**quota.headers(), "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Request-Id": sha1_hex(time.time())[:16].upper()}
        return json_response(data, status, {**base, **(headers or {})})

    async def list_events(self, request: Request) -> Response:
        per_page = int_param(request, "per_page", 30)
        page = int_param(request, "page", 1, hi=10_000)
        with self.lock:
            events = list(self.events)
        last = max(1, math.ceil(len(events) / per_page))
        data = events[(page - 1) * per_page: page * per_page]

        digest = hashlib.md5(json.dumps(data).encode(), usedforsecurity=False).hexdigest()
        etag = f'W/"{digest}"'
        headers = {"ETag": etag, "X-Poll-Interval": f"{self.poll_interval:g}", "Cache-Control":
                   "private, max-age=60, s-maxage=60", "Vary": "Accept, Authorization, Cookie"}
        link = link_header(f"{self.api}/events", {"per_page": per_page}, page, last)
        if link:
            headers["Link"] = link
        if etag in request.headers.get("if-none-match", "").split(", "):
            # A conditional request that matches costs no quota (docs: "Conditional requests").
            return Response(status_code=304, headers={**headers, **self.core.headers()})
        return self.respond(data, headers=headers)

    async def archive_hour(self, request: Request) -> Response:
        """One hour of GH Archive: gzip NDJSON once the hour has ended, 404 before (and for a bad name)."""
        name = str(request.path_params["hour"])
        start = parse_archive_hour(name)
        if start is None or start + 3600 > time.time():
            return Response(b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>", 404,
                            media_type="application/xml")
        with self.lock:
            events = list(self.archive.get(name, []))
        body = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)
        return Response(gzip.compress(body), media_type="application/gzip")

    async def compare(self, request: Request) -> Response:
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        base_sha, sep, head_sha = str(request.path_params["basehead"]).partition("...")
        with self.lock:
            base, head = self.commits.get(base_sha), self.commits.get(head_sha)
        if not sep or base is None or head is None or head.repo != repo:
            return not_found(self)
        changes = diff_trees(base.tree, head.tree)
        files = [file_entry(self.api, self.web, repo, head.sha, c) for c in changes]
        chain = self._chain(head, base.sha)
        basehead = f"{base.sha}...{head.sha}"
        return self.respond({
            "url": f"{self.api}/repos/{repo}/compare/{basehead}",
            "html_url": f"{self.web}/{repo}/compare/{basehead}",
            "permalink_url": f"{self.web}/{repo}/compare/{base.sha}...{head.sha}",
            "diff_url": f"{self.web}/{repo}/compare/{basehead}.diff",
            "patch_url": f"{self.web}/{repo}/compare/{basehead}.patch",
            "base_commit": commit_object(self.api, self.web, base, None),
            "merge_base_commit": commit_object(self.api, self.web, base, None),
            "status": "ahead" if chain else "identical", "ahead_by": len(chain), "behind_by": 0,
            "total_commits": len(chain),
            "commits": [commit_object(self.api, self.web, c, None) for c in reversed(chain)],
            "files": files,
        })

    def _chain(self, head: Commit, stop: str) -> list[Commit]:
        out: list[Commit] = []
        commit: Commit | None = head
        with self.lock:
            while commit is not None and commit.sha != stop and len(out) < 250:
                out.append(commit)
                commit = self.commits.get(commit.parent) if commit.parent else None
        return out

    async def get_commit(self, request: Request) -> Response:
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        with self.lock:
            commit = self.commits.get(request.path_params["ref"])
            parent = self.commits.get(commit.parent) if commit and commit.parent else None
        if commit is None or commit.repo != repo:
            return not_found(self)
        changes = diff_trees(parent.tree if parent else {}, commit.tree)
        files = [file_entry(self.api, self.web, repo, commit.sha, c) for c in changes]
        return self.respond(commit_object(self.api, self.web, commit, files))

    async def raw_file(self, request: Request) -> Response:
        with self.lock:
            commit = self.commits.get(request.path_params["sha"])
        path = str(request.path_params["path"])
        if commit is None or path not in commit.tree:
            return Response("404: Not Found", 404, media_type="text/plain")
        return Response(commit.tree[path], media_type="text/plain; charset=utf-8")


def archive_hour(ts: float) -> str:
    """GH Archive's file name of the hour holding ``ts``: ``YYYY-MM-DD-H`` (UTC, no leading zero)."""
    t = time.gmtime(ts)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}-{t.tm_hour}"


def parse_archive_hour(name: str) -> float | None:
    try:
        day, hour = name.rsplit("-", 1)
        return calendar.timegm(time.strptime(day, "%Y-%m-%d")) + int(hour) * 3600 if 0 <= int(hour) < 24 else None
    except ValueError:
        return None


# ---- registry entries (joined by kind in sources.fakes.FAKES) --------------------------------------


def _table(gh: GitHubService) -> SourceTable:
    return SourceTable({"api_url": gh.api, "token_env": TOKEN_ENV}, gh.api, {TOKEN_ENV: FAKE_TOKEN})


def _archive_table(gh: GitHubService) -> SourceTable:
    return SourceTable({"api_url": gh.api, "archive_url": f"{gh.api}/archive", "token_env": TOKEN_ENV}, gh.api,
                       {TOKEN_ENV: FAKE_TOKEN})


def _archived_push(gh: GitHubService, text: str, n: int, org: str) -> Published:
    """A push whose event the feed shows an hour late: it is in the archive of the last hour that ended."""
    pushed = gh.publish_push(f"{org}/repo-{n % 3}", {f"deploy/cfg{n}.env": text}, lag=3600.0)
    return dataclasses.replace(pushed, source="gharchive")


def _push(gh: GitHubService, text: str, n: int, org: str) -> Published:
    return gh.publish_push(f"{org}/repo-{n % 3}", {f"deploy/cfg{n}.env": text})


def _gist(gh: GitHubService, text: str, n: int, org: str) -> Published:
    return gh.publish_gist({f"notes{n}.md": text})


def _searchable(gh: GitHubService, text: str, n: int, org: str) -> Published:
    """Code search indexes what a push wrote; a search hit's page is the file's blob."""
    pushed = _push(gh, text, n, org)
    url = f"{gh.web}/{org}/repo-{n % 3}/blob/{pushed.key}/{quote(f'deploy/cfg{n}.env')}"
    return dataclasses.replace(pushed, source="github_search", url=url)


FAKES: tuple[Fake[GitHubService], ...] = (
    Fake("github_events", GitHubService, _table, _push),
    Fake("gharchive", GitHubService, _archive_table, _archived_push, demo=False, rides_along=True),
    Fake("github_gists", GitHubService, _table, _gist),
    Fake("github_search", GitHubService, _table, _searchable, demo=False),
)
