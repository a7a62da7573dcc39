"""Gists, code search and repository contents for the fake GitHub (see :mod:`sources.fakes.github`).

Shapes: docs.github.com/rest/gists/gists#list-public-gists (``since``, ``per_page``, ``page``;
files listed with ``raw_url`` and no content), search/search#search-code (``total_count``,
``incomplete_results``, ``items`` with ``url`` to the contents API, ``git_url``, ``html_url``,
``repository``, ``score`` and, with the ``text-match`` media type, ``text_matches``),
repos/contents (``content`` base64 with a newline every 60 characters) and git/blobs.

Both APIs see the fake GitHub through the :class:`GitHub` protocol (its state, lock, URLs and
``respond``), so this module never imports :mod:`sources.fakes.github`, which builds them.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sources.fakes.gitrepo import Repo, blob_sha, user
from sources.fakes.service import (
    Bounded,
    Published,
    RateWindow,
    int_param,
    iso,
    link_header,
    parse_iso,
    sha1_hex,
)

# A quoted phrase, or a bare word that is not a ``qualifier:value`` (search syntax).
_TERM = re.compile(r'"([^"]+)"|(\S+)')


class GitHub(Protocol):
    """What the gist and search APIs use of the fake GitHub (:class:`sources.fakes.github.GitHubService`)."""

    lock: threading.Lock
    base_url: str
    repos: Bounded
    commits: Bounded
    gists: Bounded
    blobs: Bounded
    search_quota: RateWindow

    @property
    def api(self) -> str: ...

    @property
    def web(self) -> str: ...

    def next_id(self) -> int: ...

    def fault_body(self, status: int) -> tuple[bytes, str]: ...

    def respond(self, data: Any, quota: RateWindow | None = None, headers: dict[str, str] | None = None,
                status: int = 200) -> Response: ...


def not_found(gh: GitHub) -> Response:
    body, media = gh.fault_body(404)
    return Response(body, 404, media_type=media)


def b64_lines(text: str) -> str:
    raw = base64.b64encode(text.encode("utf-8", "surrogateescape")).decode()
    return "".join(raw[i:i + 60] + "\n" for i in range(0, len(raw), 60))


@dataclass
class Gist:
    id: str
    owner: str
    files: dict[str, str]
    description: str
    created: float


@dataclass
class Indexed:
    repo: Repo
    path: str
    commit: str
    sha: str
    text: str


class GistAPI:
    """``GET /gists/public``, ``GET /gists/{id}`` and the raw files they link to."""

    def __init__(self, gh: GitHub) -> None:
        self.gh = gh

    def routes(self) -> list[BaseRoute]:
        return [Route("/gists/public", self.list_public), Route("/gists/{gist_id}", self.get),
                Route("/raw/gist/{owner}/{gist_id}/raw/{sha}/{filename:path}", self.raw)]

    def publish(self, files: dict[str, str], *, description: str = "", owner: str = "sandbox-user") -> Published:
        now = time.time()
        gist = Gist(sha1_hex("gist", now, sorted(files.items()), self.gh.next_id())[:32], owner, dict(files),
                    description, now)
        with self.gh.lock:
            self.gh.gists[gist.id] = gist
        raws = tuple(self._file(gist, name)["raw_url"] for name in files)
        return Published("github_gists", gist.id, f"{self.gh.web}/gist/{owner}/{gist.id}", now, iso(now), raws)

    def _file(self, gist: Gist, name: str, content: bool = False) -> dict[str, Any]:
        text = gist.files[name]
        sha = blob_sha(text)
        out: dict[str, Any] = {
            "filename": name, "type": "text/plain", "language": None,
            "raw_url": f"{self.gh.base_url}/raw/gist/{gist.owner}/{gist.id}/raw/{sha}/{quote(name)}",
            "size": len(text.encode("utf-8", "surrogateescape"))}
        if content:
            out.update(truncated=False, content=text)
        return out

    def _gist(self, gist: Gist, content: bool = False) -> dict[str, Any]:
        api, stamp = self.gh.api, iso(gist.created)
        return {
            "url": f"{api}/gists/{gist.id}", "forks_url": f"{api}/gists/{gist.id}/forks",
            "commits_url": f"{api}/gists/{gist.id}/commits", "id": gist.id, "node_id": "G_" + gist.id[:16],
            "git_pull_url": f"{self.gh.web}/gist/{gist.id}.git", "git_push_url": f"{self.gh.web}/gist/{gist.id}.git",
            "html_url": f"{self.gh.web}/gist/{gist.owner}/{gist.id}",
            "files": {name: self._file(gist, name, content) for name in gist.files},
            "public": True, "created_at": stamp, "updated_at": stamp, "description": gist.description,
            "comments": 0, "user": None, "comments_url": f"{api}/gists/{gist.id}/comments",
            "owner": user(api, self.gh.web, gist.owner), "truncated": False,
        }

    async def list_public(self, request: Request) -> Response:
        per_page = int_param(request, "per_page", 30)
        page = int_param(request, "page", 1, hi=10_000)
        since = parse_iso(request.query_params.get("since", "")) or 0.0
        with self.gh.lock:
            gists = [g for g in reversed(self.gh.gists.values()) if math.floor(g.created) >= since][:3000]
        last = max(1, math.ceil(len(gists) / per_page))
        params: dict[str, object] = {"per_page": per_page}
        if "since" in request.query_params:
            params = {"since": quote(request.query_params["since"]), **params}
        link = link_header(f"{self.gh.api}/gists/public", params, page, last)
        data = [self._gist(g) for g in gists[(page - 1) * per_page: page * per_page]]
        return self.gh.respond(data, headers={"Link": link} if link else None)

    async def get(self, request: Request) -> Response:
        with self.gh.lock:
            gist = self.gh.gists.get(request.path_params["gist_id"])
        return not_found(self.gh) if gist is None else self.gh.respond(self._gist(gist, content=True))

    async def raw(self, request: Request) -> Response:
        with self.gh.lock:
            gist = self.gh.gists.get(request.path_params["gist_id"])
        name = str(request.path_params["filename"])
        if gist is None or name not in gist.files:
            return Response("404: Not Found", 404, media_type="text/plain")
        return Response(gist.files[name], media_type="text/plain; charset=utf-8")


class SearchAPI:
    """``GET /search/code`` over the latest content of pushed files, plus contents and blobs."""

    def __init__(self, gh: GitHub) -> None:
        self.gh = gh

    def routes(self) -> list[BaseRoute]:
        return [Route("/search/code", self.search),
                Route("/repos/{owner}/{repo}/contents/{path:path}", self.contents),
                Route("/repositories/{rid:int}/contents/{path:path}", self.contents),
                Route("/repos/{owner}/{repo}/git/blobs/{sha}", self.blob),
                Route("/repositories/{rid:int}/git/blobs/{sha}", self.blob)]

    def index(self, repo: Repo, commit: str, path: str, text: str) -> None:
        """Called under the service lock by ``publish_push`` for each written file."""
        key = f"{repo.full_name}:{path}"
        self.gh.blobs.pop(key, None)
        self.gh.blobs[key] = Indexed(repo, path, commit, blob_sha(text), text)

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        api, web = self.gh.api, self.gh.web
        return {"id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name, "full_name": repo.full_name,
                "private": False, "owner": user(api, web, repo.owner), "html_url": f"{web}/{repo.full_name}",
                "description": None, "fork": False, "url": f"{api}/repos/{repo.full_name}"}

    def _item(self, hit: Indexed, terms: list[str], text_match: bool) -> dict[str, Any]:
        api, web, qpath = self.gh.api, self.gh.web, quote(hit.path)
        url = f"{api}/repositories/{hit.repo.id}/contents/{qpath}?ref={hit.commit}"
        item: dict[str, Any] = {
            "name": hit.path.rsplit("/", 1)[-1], "path": hit.path, "sha": hit.sha, "url": url,
            "git_url": f"{api}/repositories/{hit.repo.id}/git/blobs/{hit.sha}",
            "html_url": f"{web}/{hit.repo.full_name}/blob/{hit.commit}/{qpath}",
            "repository": self._repo_json(hit.repo), "score": 1.0}
        if text_match:
            item["text_matches"] = [self._fragment(hit.text, term, url) for term in terms]
        return item

    @staticmethod
    def _fragment(text: str, term: str, url: str) -> dict[str, Any]:
        at = text.find(term)
        start = max(0, text.rfind("\n", 0, max(at, 0)) + 1)
        end = text.find("\n", at + len(term))
        fragment = text[start: end if end >= 0 else len(text)][:400]
        matches = [{"text": term, "indices": [at - start, at - start + len(term)]}] if at >= 0 else []
        return {"object_url": url, "object_type": "FileContent", "property": "content",
                "fragment": fragment, "matches": matches}

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        if not query:
            body = {"message": "Validation Failed", "documentation_url": "https://docs.github.com/rest/search/search",
                    "errors": [{"resource": "Search", "field": "q", "code": "missing"}], "status": "422"}
            return self.gh.respond(body, self.gh.search_quota, status=422)
        terms = [q or w for q, w in _TERM.findall(query) if q or ":" not in w]
        per_page = int_param(request, "per_page", 30)
        page = int_param(request, "page", 1, hi=10)
        with self.gh.lock:
            hits = [h for h in reversed(self.gh.blobs.values()) if all(t in h.text for t in terms)][:1000]
        text_match = "text-match" in request.headers.get("accept", "")
        data = {"total_count": len(hits), "incomplete_results": False,
                "items": [self._item(h, terms, text_match) for h in hits[(page - 1) * per_page: page * per_page]]}
        link = link_header(f"{self.gh.api}/search/code", {"q": quote(query), "per_page": per_page}, page,
                           max(1, math.ceil(len(hits) / per_page)))
        return self.gh.respond(data, self.gh.search_quota, headers={"Link": link} if link else None)

    def _find_repo(self, request: Request) -> Repo | None:
        if "rid" in request.path_params:
            rid = request.path_params["rid"]
            return next((r for r in self.gh.repos.values() if r.id == rid), None)
        return self.gh.repos.get(f"{request.path_params['owner']}/{request.path_params['repo']}")

    async def contents(self, request: Request) -> Response:
        path = str(request.path_params["path"])
        with self.gh.lock:
            repo = self._find_repo(request)
            ref = request.query_params.get("ref") or (repo.refs.get("refs/heads/main") if repo else None)
            commit = self.gh.commits.get(ref or "")
        if repo is None or commit is None or commit.repo != repo.full_name or path not in commit.tree:
            return not_found(self.gh)
        text, api, web = commit.tree[path], self.gh.api, self.gh.web
        sha, qpath = blob_sha(text), quote(path)
        self_url = f"{api}/repos/{repo.full_name}/contents/{qpath}?ref={commit.sha}"
        git_url = f"{api}/repos/{repo.full_name}/git/blobs/{sha}"
        html_url = f"{web}/{repo.full_name}/blob/{commit.sha}/{qpath}"
        return self.gh.respond({
            "type": "file", "encoding": "base64", "size": len(text.encode("utf-8", "surrogateescape")),
            "name": path.rsplit("/", 1)[-1], "path": path, "content": b64_lines(text), "sha": sha,
            "url": self_url, "git_url": git_url, "html_url": html_url,
            "download_url": f"{web}/{repo.full_name}/raw/{commit.sha}/{qpath}",
            "_links": {"self": self_url, "git": git_url, "html": html_url}})

    async def blob(self, request: Request) -> Response:
        sha = request.path_params["sha"]
        with self.gh.lock:
            repo = self._find_repo(request)
            hit = next((h for h in self.gh.blobs.values() if h.sha == sha and h.repo is repo), None)
        if hit is None:
            return not_found(self.gh)
        return self.gh.respond({"sha": sha, "node_id": "B_" + sha[:16], "size": len(hit.text.encode()),
                                "url": f"{self.gh.api}/repos/{hit.repo.full_name}/git/blobs/{sha}",
                                "content": b64_lines(hit.text), "encoding": "base64"})
