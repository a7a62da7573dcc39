"""GitLab: ``GET /api/v4/personal_access_tokens/self`` with the ``PRIVATE-TOKEN`` header (read-only).

The answer describes the token itself, including its ``active`` and ``revoked`` flags.
"""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, json_object, unexpected

DOCS = "https://docs.gitlab.com/api/personal_access_tokens/#get-details-on-a-personal-access-token"


class GitLabOptions(VerifierOptions):
    api_url: Url = "https://gitlab.com"
    """Instance root (self-managed: ``https://gitlab.example.com``); ``/api/v4`` is appended."""


class GitLabVerifier(Verifier):
    """Personal access tokens (``glpat-``, legacy and routable) on gitlab.com or self-managed."""

    kind = "gitlab"
    Options = GitLabOptions
    options: GitLabOptions
    rules: ClassVar[frozenset[str]] = frozenset({"gitlab-pat", "gitlab-pat-routable", "gitlab-pat-routable-v1"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        url = self.options.api_url.rstrip("/") + "/api/v4/personal_access_tokens/self"
        resp = await self.request("GET", url, headers={"PRIVATE-TOKEN": token})
        if resp.status_code == 401:
            # 401 {"message": "401 Unauthorized"}: the token is unknown, revoked or expired.
            # https://docs.gitlab.com/api/rest/troubleshooting/#status-codes
            return Verdict.inactive("GitLab rejected the token (HTTP 401)")
        if resp.status_code != 200:
            # 403 insufficient_scope, 404 on old instances, 429, 5xx: none of them decides.
            return unexpected("GitLab", resp)
        body = json_object(resp)
        active, revoked = body.get("active"), body.get("revoked")
        if active is True and revoked is False:
            # 200 with "active": true, "revoked": false (DOCS above).
            return Verdict.live("GitLab accepted the token (active, not revoked)")
        if active is False or revoked is True:
            # 200 with "active": false or "revoked": true describes a dead token (DOCS above).
            return Verdict.inactive("GitLab reports the token inactive or revoked")
        return unexpected("GitLab", resp)
