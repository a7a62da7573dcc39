"""One scenario adapter per registered source: it knows how to mock that source's service.

Every adapter builds its responses from the documented fixtures in ``tests/fixtures/<source>/``
(copied and filled with the test's documents), so the contract suite exercises real shapes.

* ``install(router, docs)`` mocks a first page listing ``len(docs)`` items, item ``i`` yielding one
  document whose content is ``docs[i]``; it returns the listing route (page 1);
* ``install_empty(router)`` mocks "nothing new" (a 304 or an empty page) and returns the cursor to
  poll with;
* ``malformed`` lists bodies that are not what the service documents.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from typing import Any, ClassVar

import httpx
import respx

from tests.sources.helpers import fixture_headers, fixture_json, fixture_text

GH = "https://api.github.com"


def _json(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(data).encode(), headers={
        "Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _is_text(doc: bytes) -> bool:
    try:
        doc.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Scenario:
    kind: ClassVar[str]
    table: ClassVar[dict[str, Any]]
    env: ClassVar[dict[str, str]] = {}
    malformed: ClassVar[list[tuple[bytes, str]]] = [
        (b'[{"id": "1", "type": "Push', "application/json"),  # cut-off JSON
        (b'{"message": "Server Error"}', "application/json"),  # JSON, not the documented shape
    ]

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        raise NotImplementedError

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        raise NotImplementedError


class GithubEventsScenario(Scenario):
    kind = "github_events"
    table: ClassVar[dict[str, Any]] = {}
    env: ClassVar[dict[str, str]] = {"GITHUB_TOKEN": "ghp_obviously_fake_test_token"}
    etag = 'W/"a18c3bded88eb5dbb5c849a489412bf3"'

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        template = next(e for e in fixture_json("github_events", "events.json") if e["type"] == "PushEvent")
        compare = fixture_json("github_events", "compare.json")
        events = []
        for i, doc in enumerate(docs):
            event = copy.deepcopy(template)
            event["id"] = str(60000000000 + i)
            event["repo"]["name"] = f"octocat/repo{i}"
            before, head = event["payload"]["before"], f"{i + 1:040x}"
            event["payload"]["head"] = head
            events.insert(0, event)  # newest first
            body = copy.deepcopy(compare)
            body["html_url"] = f"https://github.com/octocat/repo{i}/compare/{before}...{head}"
            file = copy.deepcopy(compare["files"][0])
            if _is_text(doc):
                file["patch"] = doc.decode()
            else:
                file.pop("patch")
                file["raw_url"] = f"https://github.com/octocat/repo{i}/raw/{head}/blob.bin"
                router.get(file["raw_url"]).mock(return_value=httpx.Response(200, content=doc))
            body["files"] = [file]
            router.get(f"{GH}/repos/octocat/repo{i}/compare/{before}...{head}").mock(return_value=_json(body))
        headers = {k: v for k, v in fixture_headers("github_events", "events.headers.json").items() if k != "Link"}
        router.get(f"{GH}/events", headers={"If-None-Match": headers["ETag"]}).mock(  # a real server's 304
            return_value=httpx.Response(304, headers={"ETag": headers["ETag"], "X-Poll-Interval": "60"}))
        return router.get(f"{GH}/events").mock(return_value=_json(events, headers))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get(f"{GH}/events", headers={"If-None-Match": self.etag}).mock(
            return_value=httpx.Response(304, headers={"X-Poll-Interval": "60", "ETag": self.etag}))
        return {"etag": self.etag, "seen": ["1"]}


class GharchiveScenario(GithubEventsScenario):
    """GH Archive: the hour that ended last (the test clock is 2026-11-28 22:00 UTC, so 21:00–22:00)
    as a gzip NDJSON file of the same events, each push's compare mocked as for ``github_events``."""

    kind = "gharchive"
    table: ClassVar[dict[str, Any]] = {"backfill_hours": 1}
    hour = "https://data.gharchive.org/2026-11-28-21.json.gz"
    malformed: ClassVar[list[tuple[bytes, str]]] = [
        (b'{"id": "1", "type": "PushEvent"', "application/gzip"),  # not gzip: an error page served with 200
        (b"<html><body>Server Error</body></html>", "text/html"),
    ]

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        listing = super().install(router, docs)
        events = list(reversed(json.loads(listing.return_value.content)))  # the archive is oldest first
        noise = {**events[0], "id": "59999999999", "type": "WatchEvent", "payload": {"action": "started"}} \
            if events else None
        lines = [json.dumps(e) for e in ([noise] if noise else []) + events]
        return router.get(self.hour).mock(return_value=httpx.Response(
            200, content=gzip.compress("\n".join(lines).encode() + b"\n"),
            headers={"Content-Type": "application/gzip"}))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        return {"hour": "2026-11-28-21"}  # nothing has ended since: no request at all


class GithubGistsScenario(Scenario):
    kind = "github_gists"
    table: ClassVar[dict[str, Any]] = {}
    env: ClassVar[dict[str, str]] = {"GITHUB_TOKEN": "ghp_obviously_fake_test_token"}

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        template = fixture_json("github_gists", "gists_public.json")[0]
        gists = []
        for i, doc in enumerate(docs):
            gist = copy.deepcopy(template)
            gist["id"] = f"{i:020x}"
            gist["html_url"] = f"https://gist.github.com/{gist['id']}"
            gist["updated_at"] = f"2026-11-28T21:{10 + i:02d}:00Z"
            raw = f"https://gist.githubusercontent.com/octocat/{gist['id']}/raw/{i:040x}/notes.txt"
            gist["files"] = {"notes.txt": {"filename": "notes.txt", "type": "text/plain", "language": "Text",
                                           "raw_url": raw, "size": len(doc)}}
            router.get(raw).mock(return_value=httpx.Response(200, content=doc))
            gists.insert(0, gist)
        headers = {k: v for k, v in fixture_headers("github_gists", "gists_public.headers.json").items() if k != "Link"}
        return router.get(f"{GH}/gists/public").mock(return_value=_json(gists, headers))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get(f"{GH}/gists/public").mock(return_value=_json([]))
        return {"since": "2026-11-28T21:00:00Z", "seen": []}


class GithubSearchScenario(Scenario):
    kind = "github_search"
    table: ClassVar[dict[str, Any]] = {}
    env: ClassVar[dict[str, str]] = {"GITHUB_TOKEN": "ghp_obviously_fake_test_token"}

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        results = fixture_json("github_search", "search_code.json")
        contents = fixture_json("github_search", "contents.json")
        template, items = results["items"][0], []
        for i, doc in enumerate(docs):
            item = copy.deepcopy(template)
            item["sha"] = f"{i + 1:040x}"
            item["path"] = f"app/file{i}.py"
            item["url"] = f"{GH}/repositories/1296269/contents/app/file{i}.py?ref={i:040x}"
            item["html_url"] = f"https://github.com/octocat/Hello-World/blob/{i:040x}/app/file{i}.py"
            body = {**contents, "content": base64.encodebytes(doc).decode(), "size": len(doc), "sha": item["sha"]}
            router.get(item["url"]).mock(return_value=_json(body))
            items.append(item)
        results = {**results, "total_count": len(items), "items": items}
        headers = {k: v for k, v in fixture_headers("github_search", "search_code.headers.json").items()
                   if k != "Link"}
        return router.get(f"{GH}/search/code").mock(return_value=_json(results, headers))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get(f"{GH}/search/code").mock(
            return_value=_json({"total_count": 0, "incomplete_results": False, "items": []}))
        return {"shas": ["d7212f9dee2dcc18f084d7df8f417b80846ded5a"]}


class GitlabSnippetsScenario(Scenario):
    kind = "gitlab_snippets"
    table: ClassVar[dict[str, Any]] = {}
    env: ClassVar[dict[str, str]] = {"GITLAB_TOKEN": "glpat-obviously-fake-test-token"}
    api = "https://gitlab.com/api/v4"

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        template = fixture_json("gitlab_snippets", "snippets_public.json")[0]
        snippets = []
        for i, doc in enumerate(docs):
            snip = copy.deepcopy(template)
            snip["id"] = 4000000 + i
            snip["web_url"] = f"https://gitlab.com/-/snippets/{snip['id']}"
            snip["created_at"] = snip["updated_at"] = f"2026-11-28T21:{10 + i:02d}:00.000Z"
            raw = f"https://gitlab.com/-/snippets/{snip['id']}/raw/main/deploy.sh"
            snip["files"] = [{"path": "deploy.sh", "raw_url": raw}]
            router.get(raw).mock(return_value=httpx.Response(200, content=doc))
            snippets.insert(0, snip)
        headers = {**fixture_headers("gitlab_snippets", "snippets_public.headers.json"), "X-Next-Page": ""}
        headers.pop("Link")
        return router.get(f"{self.api}/snippets/public").mock(return_value=_json(snippets, headers))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get(f"{self.api}/snippets/public").mock(return_value=_json([], {"X-Next-Page": "", "X-Page": "1"}))
        return {"created_after": "2026-11-28T21:00:00Z", "seen": ["3521457"]}


class PastebinScenario(Scenario):
    kind = "pastebin"
    table: ClassVar[dict[str, Any]] = {}
    api = "https://scrape.pastebin.com"
    malformed: ClassVar[list[tuple[bytes, str]]] = [
        (b'[{"key": "0CeaNm8Y", "date": "17962', "application/json"),
        (b'{"key": "0CeaNm8Y", "date": "1796248781"}', "application/json"),  # an object, not the list
    ]

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        template = fixture_json("pastebin", "api_scraping.json")[0]
        pastes = []
        for i, doc in enumerate(docs):
            key = f"Key{i:05d}"
            pastes.insert(0, {**template, "key": key, "date": str(1796248000 + i), "size": str(len(doc)),
                              "full_url": f"https://pastebin.com/{key}",
                              "scrape_url": f"{self.api}/api_scrape_item.php?i={key}"})
            router.get(f"{self.api}/api_scrape_item.php", params={"i": key}).mock(
                return_value=httpx.Response(200, content=doc, headers={"Content-Type": "text/plain"}))
        return router.get(f"{self.api}/api_scraping.php").mock(return_value=_json(pastes))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get(f"{self.api}/api_scraping.php").mock(return_value=_json([]))
        return {"date": "1796248781", "seen": ["0CeaNm8Y"]}


class PasteSitesScenario(Scenario):
    kind = "paste_sites"
    table: ClassVar[dict[str, Any]] = {
        "name": "pastebin-pl", "archive_url": "https://pastebin.pl/lists",
        "link_selector": "td.first > a[href*='/view/']", "raw_url": "https://pastebin.pl/view/raw/{key}"}
    malformed: ClassVar[list[tuple[bytes, str]]] = [
        (b'{"error": "maintenance"}', "application/json"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    ]

    def _page(self, keys: list[str]) -> bytes:
        html = fixture_text("paste_sites", "lists.html")
        head, _, rest = html.partition("<tbody>")
        _, _, tail = rest.partition("</tbody>")
        rows = "".join(f'<tr><td class="first"><a href="/view/{k}">{k}</a></td><td>now</td></tr>' for k in keys)
        return f"{head}<tbody>{rows}</tbody>{tail}".encode()

    def install(self, router: respx.MockRouter, docs: list[bytes]) -> respx.Route:
        router.get("https://pastebin.pl/robots.txt").mock(return_value=httpx.Response(404))
        keys = [f"k{i:07x}" for i in range(len(docs))]
        for key, doc in zip(keys, docs, strict=True):
            router.get(f"https://pastebin.pl/view/raw/{key}").mock(return_value=httpx.Response(200, content=doc))
        return router.get("https://pastebin.pl/lists").mock(return_value=httpx.Response(
            200, content=self._page(list(reversed(keys))), headers={"Content-Type": "text/html; charset=utf-8"}))

    def install_empty(self, router: respx.MockRouter) -> dict[str, Any]:
        router.get("https://pastebin.pl/robots.txt").mock(return_value=httpx.Response(404))
        router.get("https://pastebin.pl/lists").mock(return_value=httpx.Response(
            200, content=self._page([]), headers={"Content-Type": "text/html"}))
        return {"seen": ["7f3a91c2"]}


SCENARIOS: dict[str, Scenario] = {s.kind: s for s in (
    GithubEventsScenario(), GharchiveScenario(), GithubGistsScenario(), GithubSearchScenario(),
    GitlabSnippetsScenario(), PastebinScenario(), PasteSitesScenario())}
