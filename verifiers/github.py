"""GitHub: ``GET /user`` (``GET /installation/repositories`` for installation tokens).

Both are read-only. An installation token (``ghs_``) cannot read ``/user``, so it lists (at most)
one repository the installation can see instead.
"""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from crawler.detect.rules import Rule
from verifiers.base import Verdict, Verifier, VerifierOptions, has_key, unexpected

INSTALLATION_RULES = frozenset({"github-server-to-server", "github-server-to-server-jwt"})


class GitHubOptions(VerifierOptions):
    api_url: Url = "https://api.github.com"
    """GitHub REST API root (GitHub Enterprise Server: ``https://HOST/api/v3``)."""


class GitHubVerifier(Verifier):
    """Classic, fine-grained, OAuth, user-to-server and installation (server-to-server) tokens."""

    kind = "github"
    Options = GitHubOptions
    options: GitHubOptions
    rules: ClassVar[frozenset[str]] = frozenset({
        "github-pat-classic", "github-oauth", "github-user-to-server", "github-fine-grained-pat",
        *INSTALLATION_RULES,
    })

    async def check(self, token: str, rule: Rule) -> Verdict:
        installation = rule.id in INSTALLATION_RULES
        path = "/installation/repositories?per_page=1" if installation else "/user"
        resp = await self.request("GET", self.options.api_url.rstrip("/") + path, headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        })
        if resp.status_code == 401:
            # 401 "Bad credentials": the token is unknown, revoked or expired.
            # https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
            return Verdict.inactive("GitHub rejected the token (HTTP 401 Bad credentials)")
        if has_key(resp, "repositories" if installation else "login"):
            # 200 with the authenticated user, or with the installation's repositories:
            # https://docs.github.com/en/rest/users/users#get-the-authenticated-user
            # https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation
            return Verdict.live(f"GitHub accepted the token (HTTP {resp.status_code})")
        # 403 is a rate limit or a missing permission, 404 a wrong api_url: neither decides.
        return unexpected("GitHub", resp)
