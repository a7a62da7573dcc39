"""One adapter per registered verifier kind: how to mock its live / inactive answers.

Response bodies follow each provider's documented shapes (the URL next to each case); where a
provider documents no body for a rejection, the body is left empty because the verifier never reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from crawler.config.model import RuleConfig, VerifierConfig
from crawler.detect.rules import Rule, compile_rule

CLIENT_SECRET_ENV = "ACME_INTROSPECT_SECRET"
CLIENT_SECRET = "s3cret-for-tests"  # obviously fake


@dataclass(frozen=True)
class Reply:
    """A canned answer; a fresh ``httpx.Response`` is built for every request."""

    status: int
    json: Any = None
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> httpx.Response:
        if self.json is not None:
            return httpx.Response(self.status, json=self.json, headers=dict(self.headers))
        return httpx.Response(self.status, text=self.text, headers=dict(self.headers))


def bearer(request: httpx.Request, token: str) -> bool:
    return bool(request.headers.get("authorization") == f"Bearer {token}")


@dataclass(frozen=True)
class Case:
    kind: str
    method: str
    url: str
    rule: RuleConfig
    live: Reply
    inactive: Reply
    odd: tuple[Reply, ...]
    """Answers that decide nothing (besides 429/5xx, which every case also gets)."""
    sends_token: Callable[[httpx.Request, str], bool] = bearer
    extras: Mapping[str, Any] = field(default_factory=dict)
    verifier_id: str | None = None

    @property
    def compiled(self) -> Rule:
        return compile_rule(self.rule)

    def config(self, **overrides: Any) -> VerifierConfig:
        extras = {**self.extras, **overrides}
        return VerifierConfig(id=self.verifier_id or self.kind, kind=self.kind, rate_per_second=1e6,
                              timeout=5, **extras)


def provider_rule(rule_id: str, prefix: str, kind: str) -> RuleConfig:
    return RuleConfig(id=rule_id, prefix=prefix, charset="base62", length=36, verifier=kind)


NOT_SERVED = [
    RuleConfig(id="acme-other", prefix="acme_other_", charset="base62", length=30, verifier="someone-else"),
    RuleConfig(id="acme-none", prefix="acme_none_", charset="base62", length=30),
]

HTML = Reply(200, text="<html><body>Sign in</body></html>", headers={"content-type": "text/html"})

# https://datatracker.ietf.org/doc/html/rfc7662#section-2.2 (the example response)
RFC7662_ACTIVE = {
    "active": True, "client_id": "l238j323ds-23ij4", "username": "jdoe", "scope": "read write dolphin",
    "sub": "Z5O3upPC88QrAjx00dis", "aud": "https://protected.example.net/resource",
    "iss": "https://server.example.com/", "exp": 1419356238, "iat": 1419350238,
}

CASES: dict[str, Case] = {c.kind: c for c in (
    Case(
        kind="introspection", method="POST", url="https://auth.acme.example/oauth2/introspect",
        rule=RuleConfig(id="acme-live", prefix="acme_live_", charset="base62", length=36,
                        checksum="crc32-base62", verifier="acme-introspect"),
        verifier_id="acme-introspect",
        extras={"url": "https://auth.acme.example/oauth2/introspect", "client_id": "leakpatrol",
                "client_secret_env": CLIENT_SECRET_ENV},
        live=Reply(200, RFC7662_ACTIVE), inactive=Reply(200, {"active": False}),
        # 401: our client credentials were refused (RFC 7662 §2.3), which says nothing of the token.
        odd=(Reply(200, {"error": "invalid_request"}), Reply(200, {"active": "yes"}), Reply(401), HTML),
        sends_token=lambda req, tok: f"token={tok}".encode() in req.content,
    ),
    Case(
        kind="http", method="GET", url="https://api.acme.example/v1/whoami",
        rule=RuleConfig(id="acme-key", prefix="acme_key_", charset="base62", length=32,
                        verifier="acme-whoami"),
        verifier_id="acme-whoami",
        extras={"url": "https://api.acme.example/v1/whoami", "headers": {"Authorization": "Bearer {token}"}},
        live=Reply(200, {"id": "acct_1"}), inactive=Reply(401),
        odd=(Reply(404), Reply(302, headers={"location": "https://login.acme.example/"}), Reply(400)),
    ),
    Case(
        # https://docs.github.com/en/rest/users/users#get-the-authenticated-user
        kind="github", method="GET", url="https://api.github.com/user",
        rule=provider_rule("github-pat-classic", "ghp_", "github"),
        live=Reply(200, {"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User",
                         "site_admin": False, "name": "monalisa octocat"}),
        inactive=Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                             "status": "401"}),
        odd=(Reply(403, {"message": "API rate limit exceeded for user ID 1.",
                         "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                   headers={"x-ratelimit-remaining": "0"}),
             Reply(200, {"message": "Not Found"}), HTML),
    ),
    Case(
        # https://docs.gitlab.com/api/personal_access_tokens/
        kind="gitlab", method="GET", url="https://gitlab.com/api/v4/personal_access_tokens/self",
        rule=provider_rule("gitlab-pat", "glpat-", "gitlab"),
        sends_token=lambda req, tok: req.headers.get("private-token") == tok,
        live=Reply(200, {"id": 4, "name": "Test Token", "revoked": False, "created_at": "2020-07-23T14:31:47.729Z",
                         "scopes": ["api"], "user_id": 24, "last_used_at": "2021-10-06T17:58:37.550Z",
                         "active": True, "expires_at": None}),
        inactive=Reply(401, {"message": "401 Unauthorized"}),
        odd=(Reply(403, {"error": "insufficient_scope"}), Reply(404, {"message": "404 Not found"}),
             Reply(200, {"id": 4, "name": "Test Token"}), HTML),
    ),
    Case(
        # https://docs.slack.dev/reference/methods/auth.test
        kind="slack", method="POST", url="https://slack.com/api/auth.test",
        rule=provider_rule("slack-bot-token", "xoxb-", "slack"),
        live=Reply(200, {"ok": True, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace",
                         "user": "bot", "team_id": "T0G9PQBBK", "user_id": "W23456789", "bot_id": "BZYBOTHED"}),
        inactive=Reply(200, {"ok": False, "error": "invalid_auth"}),
        odd=(Reply(200, {"ok": False, "error": "internal_error"}), Reply(200, {"ok": False, "error": "ratelimited"}),
             Reply(200, {"ok": False}), HTML),
    ),
    Case(
        # https://docs.npmjs.com/cli/v10/commands/npm-whoami
        kind="npm", method="GET", url="https://registry.npmjs.org/-/whoami",
        rule=provider_rule("npm-token", "npm_", "npm"),
        live=Reply(200, {"username": "leakpatrol-test"}), inactive=Reply(401),
        odd=(Reply(403), Reply(200, {}), HTML),
    ),
    Case(
        # https://platform.openai.com/docs/api-reference/models/list
        kind="openai", method="GET", url="https://api.openai.com/v1/models",
        rule=provider_rule("openai-api-key", "sk-proj-", "openai"),
        live=Reply(200, {"object": "list", "data": [{"id": "model-id-0", "object": "model", "created": 1686935002,
                                                      "owned_by": "organization-owner"}]}),
        inactive=Reply(401, {"error": {"message": "Incorrect API key provided: sk-proj-****abcd.",
                                       "type": "invalid_request_error", "param": None,
                                       "code": "invalid_api_key"}}),
        odd=(Reply(403, {"error": {"message": "Country, region, or territory not supported",
                                   "type": "request_forbidden", "param": None,
                                   "code": "unsupported_country_region_territory"}}),
             Reply(200, {"object": "list"}), HTML),
    ),
    Case(
        # https://docs.anthropic.com/en/api/models-list, https://docs.anthropic.com/en/api/errors
        kind="anthropic", method="GET", url="https://api.anthropic.com/v1/models",
        rule=provider_rule("anthropic-api-key", "sk-ant-api03-", "anthropic"),
        sends_token=lambda req, tok: req.headers.get("x-api-key") == tok
        and req.headers.get("anthropic-version") == "2023-06-01",
        live=Reply(200, {"data": [{"type": "model", "id": "claude-sonnet-4-20250514",
                                   "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"}],
                         "has_more": False, "first_id": "claude-sonnet-4-20250514",
                         "last_id": "claude-sonnet-4-20250514"}),
        inactive=Reply(401, {"type": "error", "error": {"type": "authentication_error",
                                                        "message": "invalid x-api-key"}}),
        odd=(Reply(403, {"type": "error", "error": {"type": "permission_error",
                                                    "message": "Your API key does not have permission"}}),
             Reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
             HTML),
    ),
    Case(
        # https://huggingface.co/docs/hub/api#get-apiwhoami-v2
        kind="huggingface", method="GET", url="https://huggingface.co/api/whoami-v2",
        rule=provider_rule("huggingface-token", "hf_", "huggingface"),
        live=Reply(200, {"type": "user", "id": "5f0c2b1e4c6a3d0012345678", "name": "leakpatrol-test",
                         "fullname": "Leak Patrol", "email": None, "orgs": [],
                         "auth": {"type": "access_token",
                                  "accessToken": {"displayName": "ci", "role": "read"}}}),
        inactive=Reply(401, {"error": "Invalid credentials in Authorization header"}),
        odd=(Reply(200, {"error": "?"}), Reply(404), HTML),
    ),
    Case(
        # https://docs.stripe.com/api/balance/balance_retrieve, https://docs.stripe.com/api/errors
        kind="stripe", method="GET", url="https://api.stripe.com/v1/balance",
        rule=provider_rule("stripe-live-secret-key", "sk_live_", "stripe"),
        live=Reply(200, {"object": "balance", "available": [{"amount": 0, "currency": "usd",
                                                              "source_types": {"card": 0}}],
                         "livemode": True, "pending": [{"amount": 0, "currency": "usd",
                                                        "source_types": {"card": 0}}]}),
        inactive=Reply(401, {"error": {"message": "Invalid API Key provided: sk_live_****abcd",
                                       "type": "invalid_request_error"}}),
        odd=(Reply(400, {"error": {"type": "invalid_request_error", "message": "Bad request"}}),
             Reply(200, {"object": "list"}), HTML),
    ),
    Case(
        # https://www.twilio.com/docs/sendgrid/api-reference/api-key-permissions
        kind="sendgrid", method="GET", url="https://api.sendgrid.com/v3/scopes",
        rule=provider_rule("sendgrid-api-key", "SG.", "sendgrid"),
        live=Reply(200, {"scopes": ["mail.send", "alerts.read"]}),
        inactive=Reply(401, {"errors": [{"field": None, "message": "authorization required"}]}),
        odd=(Reply(403, {"errors": [{"field": None, "message": "access forbidden"}]}), Reply(200, {}), HTML),
    ),
    Case(
        # https://docs.digitalocean.com/reference/api/reference/account/
        kind="digitalocean", method="GET", url="https://api.digitalocean.com/v2/account",
        rule=provider_rule("digitalocean-pat", "dop_v1_", "digitalocean"),
        live=Reply(200, {"account": {"droplet_limit": 25, "floating_ip_limit": 5, "email": "sammy@example.com",
                                     "name": "Sammy the Shark", "uuid": "b6fr89dbf6d9156cace5f3c78dc9851d957381ef",
                                     "email_verified": True, "status": "active", "status_message": " ",
                                     "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece",
                                              "name": "My Team"}}}),
        inactive=Reply(401, {"id": "unauthorized", "message": "Unable to authenticate you."}),
        odd=(Reply(403, {"id": "forbidden", "message": "You are not authorized to perform this operation"}),
             Reply(200, {"id": "example_error", "message": "some error message"}), HTML),
    ),
)}
