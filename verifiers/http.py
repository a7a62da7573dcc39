"""A template for any read-only endpoint of the organisation's own API.

``{token}`` is substituted in header values and in the body, never in the URL: httpx and every
proxy on the way log URLs, and a token must not reach a log line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, status_verdict, unexpected

PLACEHOLDER = "{token}"


class HttpOptions(VerifierOptions):
    url: Url
    method: Literal["GET", "HEAD", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    """Header values may contain ``{token}``, e.g. ``Authorization = "Bearer {token}"``."""
    body: str | None = None
    """Request body (POST); may contain ``{token}``. Set ``Content-Type`` in ``headers``."""
    live_status: tuple[int, ...] = (200,)
    inactive_status: tuple[int, ...] = (401, 403)

    @field_validator("url")
    @classmethod
    def _no_token_in_url(cls, value: str) -> str:
        if PLACEHOLDER in value:
            raise ValueError("put {token} in headers or body, not in the URL (URLs end up in logs)")
        return value

    @model_validator(mode="after")
    def _sane(self) -> HttpOptions:
        if set(self.live_status) & set(self.inactive_status):
            raise ValueError("live_status and inactive_status overlap")
        if not any(PLACEHOLDER in v for v in self.headers.values()) and PLACEHOLDER not in (self.body or ""):
            raise ValueError("no {token} placeholder in headers or body: the token would never be sent")
        return self


class HttpVerifier(Verifier):
    """Generic: one request, the verdict read from the status code lists."""

    kind = "http"
    Options = HttpOptions
    options: HttpOptions

    async def check(self, token: str, rule: Rule) -> Verdict:
        opts = self.options
        headers = {k: v.replace(PLACEHOLDER, token) for k, v in opts.headers.items()}
        content = opts.body.replace(PLACEHOLDER, token) if opts.body is not None else None
        resp = await self.request(opts.method, opts.url, headers=headers, content=content)
        # The issuer documents which statuses mean live and which mean rejected; the operator copies
        # them into live_status / inactive_status (DESIGN.md, [[verifiers]] kind = "http").
        verdict = status_verdict(resp, live=frozenset(opts.live_status),
                                 inactive=frozenset(opts.inactive_status))
        return verdict or unexpected("the endpoint", resp)
