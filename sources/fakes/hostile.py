"""A hostile paste site on loopback, for the hostile-input test and bench (issue 11); not in
:data:`sources.fakes.FAKES` (the demo never plants into it).

Its archive page (``/lists``) answers each request with the next attack of its list, then keeps
answering ``Retry-After: 1e20``: ``nested`` (150,000 nested ``<div>`` s, over a minute of parsing),
``huge`` (a 40 MB page), ``trickle`` (a body of one byte every half second, never ending), ``links``
(10,000 paste links), ``loop`` (a redirect to itself), ``candidates`` (one paste of 9.5 MiB of the demo rule's
look-alikes, whose checksums fail: seconds of confirmation) and ``retry_after``. Other raw
pastes answer a line without a token. :meth:`table` is its ``[[sources.paste_sites]]`` entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from crawler.kernel.serve import AppServer

ATTACKS = ("nested", "huge", "trickle", "links", "loop", "candidates", "retry_after")
DEPTH = 150_000
HTML = {"Content-Type": "text/html"}
LOOKALIKES = (b"demo_live_" + b"A" * 36 + b"\n") * (19 * 512 * 1024 // 47)


class HostilePasteSite:
    def __init__(self, *attacks: str) -> None:
        unknown = set(attacks) - set(ATTACKS)
        if unknown:
            raise ValueError(f"unknown attack {sorted(unknown)[0]!r}; use {', '.join(ATTACKS)}")
        self.requests: list[str] = []
        self.raw = 0
        self._next = iter(attacks)
        self.server = AppServer(Starlette(routes=[Route("/lists", self.lists), Route("/raw/{key}", self.paste)]))

    async def __aenter__(self) -> HostilePasteSite:
        await self.server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()

    def table(self, name: str, **extra: str) -> str:
        lines = [f'name = "{name}"', f'archive_url = "{self.server.url}/lists"', 'link_selector = "a"',
                 f'raw_url = "{self.server.url}/raw/{{key}}"', "respect_robots = false", 'interval = "1s"',
                 *(f'{k} = "{v}"' for k, v in extra.items())]
        return "\n[[sources.paste_sites]]\n" + "\n".join(lines) + "\n"

    async def lists(self, request: Request) -> Response:
        attack = next(self._next, "retry_after")
        self.requests.append(attack)
        answer: Response = getattr(self, attack)()
        return answer

    async def paste(self, request: Request) -> Response:
        self.raw += 1
        if request.path_params["key"] == "lookalikes":
            return Response(LOOKALIKES, media_type="text/plain")
        return Response("nothing here\n", media_type="text/plain")

    def nested(self) -> Response:
        return Response(b"<html><body>" + b"<div>" * DEPTH + b'<a href="/view/abc">x</a>' + b"</div>" * DEPTH,
                        headers=HTML)

    def huge(self) -> Response:
        return Response(b"<html><body>" + b"<p>x</p>" * (40 * 1024 * 1024 // 8), headers=HTML)

    def trickle(self) -> Response:
        async def drip() -> AsyncIterator[bytes]:
            while True:
                yield b" "
                await asyncio.sleep(0.5)
        return StreamingResponse(drip(), headers=HTML)

    def links(self) -> Response:
        page = "".join(f'<a href="/view/k{i:05d}">p</a>' for i in range(10_000))
        return Response(f"<html><body>{page}</body></html>", headers=HTML)

    def candidates(self) -> Response:
        return Response('<html><body><a href="/view/lookalikes">p</a></body></html>', headers=HTML)

    def loop(self) -> Response:
        return Response(status_code=302, headers={"Location": "/lists"})

    def retry_after(self) -> Response:
        return Response(status_code=429, headers={"Retry-After": "1e20"})
