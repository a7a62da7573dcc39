"""Replaying the recorded real responses of ``recordings/`` through respx.

Each recording is ``NAME.json`` — ``{"method", "url", "status", "headers": [[name, value], …], "body"}``,
one response as the service sent it (the body decoded text, so ``Content-Encoding``,
``Content-Length`` and ``Transfer-Encoding`` are dropped when it is served again) — with
``NAME.provenance.json`` next to it: the repository, path and commit it was cut from, its licence,
and what was changed. Tests plant minted tokens into the content parts at run time (:func:`planted`),
so no recording holds a token.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import respx

RECORDINGS = Path(__file__).resolve().parent / "recordings"
DROPPED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class Recording:
    name: str
    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def response(self, body: str | bytes | None = None, *, data: Any = None,
                 status: int | None = None) -> httpx.Response:
        """The recorded response, with its real headers; ``body``/``data`` replace the content."""
        if data is not None:
            body = json.dumps(data)
        content = self.body if body is None else body
        headers = [(k, v) for k, v in self.headers if k.lower() not in DROPPED]
        return httpx.Response(status or self.status, headers=headers,
                              content=content.encode() if isinstance(content, str) else content)


def load(name: str) -> Recording:
    raw = json.loads((RECORDINGS / f"{name}.json").read_text("utf-8"))
    return Recording(name, raw["method"], raw["url"], int(raw["status"]),
                     tuple((str(k), str(v)) for k, v in raw["headers"]), raw["body"])


def names() -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in RECORDINGS.glob("*.json")
                  if not p.name.endswith(".provenance.json"))


def provenance(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / f"{name}.provenance.json").read_text("utf-8"))
    return data


def serve(router: respx.MockRouter, url: str, *responses: httpx.Response) -> respx.Route:
    """``url`` answers ``responses`` in turn (the last one for ever after)."""
    answers = list(responses)

    def answer(_: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return router.get(url).mock(side_effect=answer)


def planted(text: str, token: str, line: str = "API_TOKEN={token}") -> str:
    """``text`` with one line holding ``token`` added after its first line."""
    head, sep, rest = text.partition("\n")
    return f"{head}{sep or chr(10)}{line.format(token=token)}\n{rest}"


def planted_patch(patch: str, token: str) -> str:
    """A unified-diff ``patch`` with one added line holding ``token`` after its first hunk header."""
    head, sep, rest = patch.partition("\n")
    return f"{head}\n+API_TOKEN={token}\n{rest}" if sep else f"{head}\n+API_TOKEN={token}"


def planted_base64(content: str, token: str) -> str:
    """GitHub's contents API ``content`` (base64 with line breaks) with ``token`` planted in the text."""
    text = base64.b64decode(content).decode("utf-8", "replace")
    return base64.encodebytes(planted(text, token).encode()).decode()
