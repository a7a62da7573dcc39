"""A fake GitLab: ``GET /api/v4/snippets/public`` and the raw snippet files it links to.

Shape: docs.gitlab.com/ee/api/snippets.html#list-all-public-snippets (``id``, ``title``,
``file_name``, ``description``, ``visibility``, ``author``, ``created_at`` with milliseconds,
``web_url``, ``raw_url``, ``files[]`` with ``path`` and ``raw_url``). Offset pagination headers
(docs.gitlab.com/ee/api/rest/#pagination-link-header): ``X-Page``, ``X-Per-Page``, ``X-Next-Page``
(empty on the last page), ``X-Prev-Page``, ``X-Total``, ``X-Total-Pages`` and ``Link``.
Rate-limit headers (docs.gitlab.com/ee/user/gitlab_com/#rate-limits-on-gitlabcom): ``RateLimit-*``;
a throttled request gets ``429`` with the plain-text body ``Retry later`` and ``Retry-After``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sources.fakes.base import Fake, SourceTable
from sources.fakes.service import (
    Bounded,
    Published,
    RateWindow,
    Service,
    int_param,
    iso,
    json_response,
    link_header,
    parse_iso,
)

TOKEN_ENV = "GITLAB_TOKEN"
FAKE_TOKEN = "sandbox-gitlab-token"


@dataclass
class Snippet:
    id: int
    title: str
    files: dict[str, str]
    author: str
    created: float


class GitLabService(Service):
    """The fake ``gitlab.com`` (API under ``/api/v4``). Publish with :meth:`publish`."""

    name = "gitlab"
    prefix = "/gitlab"

    def __init__(self, *, poll_interval: float = 60.0, rate_limit: int = 2000, max_items: int = 5000) -> None:
        self.quota = RateWindow("gitlab", rate_limit, 60.0)
        self.snippets: Bounded = Bounded(max_items)
        self._ids = itertools.count(4_100_001)
        super().__init__(poll_interval=poll_interval, max_items=max_items)

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v4"

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/v4/snippets/public", self.list_public),
                Route("/api/v4/snippets/{sid:int}/raw", self.raw),
                Route("/-/snippets/{sid:int}/raw", self.raw),
                Route("/-/snippets/{sid:int}/raw/{ref}/{path:path}", self.raw)]

    def publish(self, files: dict[str, str], *, title: str = "", author: str = "sandbox-dev") -> Published:
        """A public personal snippet with one or more files."""
        now = time.time()
        with self.lock:
            snippet = Snippet(next(self._ids), title or "snippet", dict(files), author, now)
            self.snippets[str(snippet.id)] = snippet
        raws = tuple(f["raw_url"] for f in self._json(snippet)["files"])
        return Published("gitlab_snippets", str(snippet.id), f"{self.base_url}/-/snippets/{snippet.id}", now,
                         iso(now, millis=True), raws)

    def _json(self, s: Snippet) -> dict[str, Any]:
        web, uid = f"{self.base_url}/-/snippets/{s.id}", 9_000_000 + len(s.author)
        first = next(iter(s.files), "")
        return {
            "id": s.id, "title": s.title, "description": None, "visibility": "public",
            "author": {"id": uid, "username": s.author, "name": s.author.title(), "state": "active",
                       "locked": False, "avatar_url": f"{self.base_url}/uploads/-/system/user/avatar/{uid}",
                       "web_url": f"{self.base_url}/{s.author}"},
            "created_at": iso(s.created, millis=True), "updated_at": iso(s.created, millis=True),
            "project_id": None, "web_url": web, "raw_url": f"{web}/raw", "file_name": first,
            "files": [{"path": p, "raw_url": f"{web}/raw/main/{quote(p)}"} for p in s.files],
            "imported": False, "imported_from": "none",
            "ssh_url_to_repo": f"git@127.0.0.1:snippets/{s.id}.git",
            "http_url_to_repo": f"{self.base_url}/snippets/{s.id}.git",
        }

    def fault_body(self, status: int) -> tuple[bytes, str]:
        if status == 429:
            return b"Retry later\n", "text/plain"
        return b'{"message":"%d"}' % status, "application/json"

    def _rate_headers(self) -> dict[str, str]:
        q = self.quota
        return {"RateLimit-Limit": str(q.limit), "RateLimit-Observed": str(q.used),
                "RateLimit-Remaining": str(max(0, q.limit - q.used)), "RateLimit-Reset": str(math.ceil(q.reset_at)),
                "RateLimit-ResetTime": formatdate(q.reset_at, usegmt=True)}

    async def list_public(self, request: Request) -> Response:
        if not self.quota.take():
            wait = str(max(1, math.ceil(self.quota.reset_at - time.time())))
            return PlainTextResponse("Retry later\n", 429, headers={**self._rate_headers(), "Retry-After": wait})
        per_page = int_param(request, "per_page", 20)
        page = int_param(request, "page", 1, hi=100_000)
        after = parse_iso(request.query_params.get("created_after", "")) or 0.0
        before = parse_iso(request.query_params.get("created_before", "")) or math.inf
        with self.lock:
            items = [s for s in reversed(self.snippets.values())
                     if after <= math.floor(s.created * 1000) / 1000 < before]
        pages = max(1, math.ceil(len(items) / per_page))
        data = [self._json(s) for s in items[(page - 1) * per_page: page * per_page]]
        params = {k: quote(v) for k, v in request.query_params.items() if k not in ("page", "per_page")}
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                   "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else "", **self._rate_headers()}
        link = link_header(f"{self.api_url}/snippets/public", {**params, "per_page": per_page}, page, pages)
        if link:
            headers["Link"] = link
        return json_response(data, headers=headers)

    async def raw(self, request: Request) -> Response:
        with self.lock:
            snippet: Snippet | None = self.snippets.get(str(request.path_params["sid"]))
        if snippet is None:
            return json_response({"message": "404 Snippet Not Found"}, 404)
        path = str(request.path_params.get("path") or next(iter(snippet.files), ""))
        if path not in snippet.files:
            return json_response({"message": "404 File Not Found"}, 404)
        return PlainTextResponse(snippet.files[path])


# ---- registry entry (joined by kind in sources.fakes.FAKES) ----------------------------------------


def _table(gl: GitLabService) -> SourceTable:
    return SourceTable({"api_url": gl.api_url, "token_env": TOKEN_ENV}, gl.api_url, {TOKEN_ENV: FAKE_TOKEN})


def _snippet(gl: GitLabService, text: str, n: int, org: str) -> Published:
    return gl.publish({f"snippet{n}.sh": text})


FAKES: tuple[Fake[GitLabService], ...] = (Fake("gitlab_snippets", GitLabService, _table, _snippet),)
