"""One adapter per registered verifier kind: how to mock its live / inactive answers.

Response bodies follow each provider's documented shapes (the URL next to each case); where a
provider documents no body for a rejection, the body is left empty because the verifier never reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from crawler.config.model import CompanionConfig, RuleConfig, VerifierConfig
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


def _pair_rule(rule_id: str, prefix: str, kind: str, charset: str, length: int, secret: str,
               secret_len: int) -> RuleConfig:
    return RuleConfig(id=rule_id, prefix=prefix, charset=charset, length=length, verifier=kind,
                      companion=CompanionConfig(charset=secret, length=secret_len))


def _aws_signed_by_key_id_only(request: httpx.Request, token: str) -> bool:
    key_id, secret = token.split(":")
    auth = request.headers.get("authorization", "")
    return auth.startswith(f"AWS4-HMAC-SHA256 Credential={key_id}/") and secret not in str(request.headers) \
        and secret.encode() not in request.content


def _basic(user: str | None = None) -> Callable[[httpx.Request, str], bool]:
    def check(request: httpx.Request, token: str) -> bool:
        name, _, secret = token.partition(":") if user is None else (user, ":", token)
        return bool(request.headers.get("authorization") == httpx.BasicAuth(name, secret)._auth_header)
    return check


def _header(name: str) -> Callable[[httpx.Request, str], bool]:
    return lambda request, token: request.headers.get(name) == token


STS = "https://sts.amazonaws.com/doc/2011-06-15/"
CASES.update({c.kind: c for c in (
    Case(
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html (Examples),
        # https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
        kind="aws", method="POST", url="https://sts.amazonaws.com/",
        rule=_pair_rule("aws-access-key", "AKIA", "aws", "upper_alnum", 16, "base64", 40),
        sends_token=_aws_signed_by_key_id_only,
        live=Reply(200, text=f'<GetCallerIdentityResponse xmlns="{STS}"><GetCallerIdentityResult>'
                             "<Arn>arn:aws:iam::123456789012:user/Alice</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>"
                             "<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata>"
                             "<RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>"
                             "</GetCallerIdentityResponse>", headers={"content-type": "text/xml"}),
        inactive=Reply(403, text=f'<ErrorResponse xmlns="{STS}"><Error><Type>Sender</Type>'
                                 "<Code>InvalidClientTokenId</Code><Message>The security token included in the "
                                 "request is invalid.</Message></Error><RequestId>0</RequestId></ErrorResponse>"),
        odd=(Reply(400, text=f'<ErrorResponse xmlns="{STS}"><Error><Code>InvalidAction</Code></Error></ErrorResponse>'),
             Reply(403, text=f'<ErrorResponse xmlns="{STS}"><Error><Code>AccessDenied</Code></Error></ErrorResponse>'),
             HTML),
    ),
    Case(
        # https://www.twilio.com/docs/iam/api/account#read-multiple-account-resources, https://www.twilio.com/docs/api/errors/20003
        kind="twilio", method="GET", url="https://api.twilio.com/2010-04-01/Accounts.json",
        rule=_pair_rule("twilio-account-sid-auth-token", "AC", "twilio", "hex", 32, "hex", 32),
        sends_token=_basic(),
        live=Reply(200, {"accounts": [{"sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "friendly_name": "My account",
                                       "status": "active", "type": "Full"}], "end": 0, "page": 0, "page_size": 50,
                         "start": 0, "uri": "/2010-04-01/Accounts.json?PageSize=50&Page=0"}),
        inactive=Reply(401, {"code": 20003, "message": "Authenticate",
                             "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
        odd=(Reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404}),
             Reply(200, {"message": "?"}), HTML),
    ),
    Case(
        # https://mailchimp.com/developer/marketing/api/ping/, https://mailchimp.com/developer/marketing/docs/errors/
        kind="mailchimp", method="GET", url="https://us6.api.mailchimp.com/3.0/ping",
        rule=RuleConfig(id="mailchimp-api-key", prefix="-us", regex="6", charset="digits", lead_charset="hex",
                        lead_min_length=32, lead_max_length=32, verifier="mailchimp"),
        sends_token=_basic("leakpatrol"),
        live=Reply(200, {"health_status": "Everything's Chimpy!"}),
        inactive=Reply(401, {"type": "https://mailchimp.com/developer/marketing/docs/errors/",
                             "title": "API Key Invalid", "status": 401,
                             "detail": "Your API key may be invalid.", "instance": "0"}),
        odd=(Reply(403, {"title": "Forbidden", "status": 403}), Reply(200, {"title": "?"}), HTML),
    ),
    Case(
        # https://developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify/
        kind="cloudflare", method="GET", url="https://api.cloudflare.com/client/v4/user/tokens/verify",
        rule=provider_rule("cloudflare-api-token-env", "CLOUDFLARE_API_TOKEN=", "cloudflare"),
        live=Reply(200, {"result": {"id": "f267e341f3dd4697bd3b9f71dd96247f", "status": "active"}, "success": True,
                         "errors": [], "messages": [{"code": 10000, "message": "This API Token is valid and active",
                                                     "type": None}]}),
        inactive=Reply(401, {"success": False, "errors": [{"code": 1000, "message": "Invalid API Token"}],
                             "messages": [], "result": None}),
        odd=(Reply(200, {"result": {"id": "f267e341f3dd4697bd3b9f71dd96247f"}, "success": True}),
             Reply(403, {"success": False,
                         "errors": [{"code": 9109, "message": "Unauthorized to access requested resource"}]}),
             HTML),
    ),
    Case(
        # https://console.groq.com/docs/api-reference#models-list, https://console.groq.com/docs/errors
        kind="groq", method="GET", url="https://api.groq.com/openai/v1/models",
        rule=provider_rule("groq-api-key", "gsk_", "groq"),
        live=Reply(200, {"object": "list", "data": [{"id": "llama-3.3-70b-versatile", "object": "model",
                                                      "created": 1733447754, "owned_by": "Meta", "active": True}]}),
        inactive=Reply(401, {"error": {"message": "Invalid API Key", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}}),
        odd=(Reply(403, {"error": {"message": "Forbidden"}}), Reply(200, {"object": "list"}), HTML),
    ),
    Case(
        # https://api-docs.deepseek.com/api/list-models, https://api-docs.deepseek.com/quick_start/error_codes
        kind="deepseek", method="GET", url="https://api.deepseek.com/models",
        rule=provider_rule("deepseek-api-key", "sk-", "deepseek"),
        live=Reply(200, {"object": "list",
                         "data": [{"id": "deepseek-chat", "object": "model", "owned_by": "deepseek"}]}),
        inactive=Reply(401, {"error": {"message": "Authentication Fails, Your api key is invalid",
                                       "type": "authentication_error", "param": None,
                                       "code": "invalid_request_error"}}),
        odd=(Reply(402, {"error": {"message": "Insufficient Balance"}}), Reply(200, {"object": "list"}), HTML),
    ),
    Case(
        # https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get
        kind="mistral", method="GET", url="https://api.mistral.ai/v1/models",
        rule=provider_rule("mistral-api-key-env", "MISTRAL_API_KEY=", "mistral"),
        live=Reply(200, {"object": "list", "data": [{"id": "mistral-small-latest", "object": "model",
                                                      "created": 1711929600, "owned_by": "mistralai"}]}),
        inactive=Reply(401, {"message": "Unauthorized", "request_id": "0"}),
        odd=(Reply(403, {"message": "Forbidden"}), Reply(200, {"object": "list"}), HTML),
    ),
    Case(
        # https://devcenter.heroku.com/articles/platform-api-reference#account-info
        kind="heroku", method="GET", url="https://api.heroku.com/account",
        rule=provider_rule("heroku-api-key", "HRKU-AA", "heroku"),
        live=Reply(200, {"id": "01234567-89ab-cdef-0123-456789abcdef", "email": "username@example.com",
                         "name": "Tina Edmonds", "verified": False, "two_factor_authentication": False}),
        inactive=Reply(401, {"id": "unauthorized", "message": "Invalid credentials provided."}),
        odd=(Reply(403, {"id": "forbidden", "message": "You do not have access"}), Reply(200, {"message": "?"}), HTML),
    ),
    Case(
        # https://open-api.netlify.com/#tag/user/operation/getCurrentUser
        kind="netlify", method="GET", url="https://api.netlify.com/api/v1/user",
        rule=provider_rule("netlify-pat", "nfp_", "netlify"),
        live=Reply(200, {"id": "5c4d9b1e2f3a4b5c6d7e8f90", "uid": "5c4d9b1e", "full_name": "Leak Patrol",
                         "email": "leakpatrol@example.com", "site_count": 0}),
        inactive=Reply(401, {"code": 401, "message": "Access Denied: Invalid token supplied"}),
        odd=(Reply(404, {"code": 404, "message": "Not Found"}), Reply(200, {"message": "?"}), HTML),
    ),
    Case(
        # https://postmarkapp.com/developer/api/server-api#get-server, .../overview#response-codes
        kind="postmark", method="GET", url="https://api.postmarkapp.com/server",
        rule=provider_rule("postmark-server-token-env", "POSTMARK_SERVER_TOKEN=", "postmark"),
        sends_token=_header("x-postmark-server-token"),
        live=Reply(200, {"ID": 1, "Name": "Staging Testing", "ApiTokens": ["…"], "Color": "red",
                         "SmtpApiActivated": True, "DeliveryType": "Live"}),
        inactive=Reply(401, {"ErrorCode": 10, "Message": "Request does not contain a valid Server token."}),
        odd=(Reply(422, {"ErrorCode": 300, "Message": "Invalid request"}), Reply(200, {"Message": "?"}), HTML),
    ),
    Case(
        # https://developers.brevo.com/reference/getaccount
        kind="brevo", method="GET", url="https://api.brevo.com/v3/account",
        rule=provider_rule("brevo-api-key", "xkeysib-", "brevo"),
        sends_token=_header("api-key"),
        live=Reply(200, {"email": "leakpatrol@example.com", "firstName": "Leak", "lastName": "Patrol",
                         "companyName": "Example", "plan": [{"type": "free", "credits": 300}]}),
        inactive=Reply(401, {"code": "unauthorized", "message": "Key not found"}),
        odd=(Reply(403, {"code": "permission_denied", "message": "IP not allowed"}), Reply(200, {"code": "?"}), HTML),
    ),
    Case(
        # https://developer.hashicorp.com/terraform/cloud-docs/api-docs/account#get-your-account-details
        kind="terraform", method="GET", url="https://app.terraform.io/api/v2/account/details",
        rule=provider_rule("terraform-cloud-token", "tfc.atlasv1.", "terraform"),
        live=Reply(200, {"data": {"id": "user-V3R563qtJNcExAkN", "type": "users",
                                  "attributes": {"username": "admin", "is-service-account": False}}}),
        inactive=Reply(401, {"errors": [{"status": "401", "title": "unauthorized"}]}),
        odd=(Reply(404, {"errors": [{"status": "404", "title": "not found"}]}), Reply(200, {"errors": []}), HTML),
    ),
)})

# https://docs.x.ai/docs/api-reference#get-api-key-info (the documented example)
XAI_KEY = {"redacted_api_key": "xai-...b14o", "user_id": "59fbe5f2-040b-46d5-8325-868bb8f23eb2",
           "name": "My API Key", "create_time": "2024-01-01T12:55:18.139305Z",
           "modify_time": "2024-08-28T17:20:12.343321Z", "modified_by": "3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7",
           "team_id": "5ea6f6bd-7815-4b8a-9135-28b2d7ba6722", "acls": ["api-key:model:*", "api-key:endpoint:*"],
           "api_key_id": "ae1e1841-4326-4b36-a8a9-8a1a7237db11", "team_blocked": False,
           "api_key_blocked": False, "api_key_disabled": False}

CASES.update({c.kind: c for c in (
    Case(
        # https://vercel.com/docs/rest-api/user/get-the-user, https://vercel.com/docs/rest-api/errors
        kind="vercel", method="GET", url="https://api.vercel.com/v2/user",
        rule=provider_rule("vercel-token-env", "VERCEL_TOKEN=", "vercel"),
        live=Reply(200, {"user": {"id": "AEIIDYVk59zbFF2Sxfyxxmua", "email": "leakpatrol@example.com",
                                  "name": "Leak Patrol", "username": "leakpatrol", "avatar": None,
                                  "defaultTeamId": None, "createdAt": 1630748523395, "softBlock": None}}),
        inactive=Reply(401, {"error": {"code": "unauthorized", "message": "Not authorized"}}),
        # 403 is also a live token without account-level scope (vercel.com/docs/sdk#troubleshooting).
        odd=(Reply(403, {"error": {"code": "forbidden", "message": "Not authorized"}}),
             Reply(200, {"error": {"code": "?"}}), HTML),
    ),
    Case(
        # https://docs.cohere.com/reference/check-api-key
        kind="cohere", method="POST", url="https://api.cohere.com/v1/check-api-key",
        rule=provider_rule("cohere-api-key-env", "CO_API_KEY=", "cohere"),
        live=Reply(200, {"valid": True, "organization_id": "0b2f6a5c-6f3d-4f2e-9a7e-1c2d3e4f5a6b",
                         "owner_id": "7c8d9e0f-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}),
        inactive=Reply(401, {"id": "0", "message": "invalid api token"}),
        odd=(Reply(200, {"valid": False}), Reply(400, {"message": "invalid request"}), Reply(200, {"id": "?"}), HTML),
    ),
    Case(
        # https://docs.x.ai/docs/api-reference#get-api-key-info (the example response)
        kind="xai", method="GET", url="https://api.x.ai/v1/api-key",
        rule=provider_rule("xai-api-key", "xai-", "xai"),
        live=Reply(200, XAI_KEY),
        inactive=Reply(400, {"code": "Client specified an invalid argument", "error": "Incorrect API key provided"}),
        odd=(Reply(200, {**XAI_KEY, "team_blocked": True}), Reply(401, {"error": "?"}), Reply(200, {"name": "?"}),
             HTML),
    ),
    Case(
        # https://supabase.com/docs/reference/api/introduction, .../v1-list-all-projects
        kind="supabase", method="GET", url="https://api.supabase.com/v1/projects",
        rule=provider_rule("supabase-access-token", "sbp_", "supabase"),
        live=Reply(200, [{"id": "abcdefghijklmnopqrst", "ref": "abcdefghijklmnopqrst",
                          "organization_id": "leakpatrol-org", "name": "demo", "region": "us-east-1",
                          "created_at": "2023-03-29T16:32:59Z", "status": "ACTIVE_HEALTHY"}]),
        inactive=Reply(401, {"message": "Unauthorized"}),
        odd=(Reply(403, {"message": "Forbidden"}), Reply(200, {"message": "?"}), HTML),
    ),
    Case(
        # https://developer.squareup.com/reference/square/merchants-api/retrieve-merchant,
        # https://developer.squareup.com/docs/build-basics/handling-errors
        kind="square", method="GET", url="https://connect.squareup.com/v2/merchants/me",
        rule=provider_rule("square-legacy-access-token", "sq0atp-", "square"),
        live=Reply(200, {"merchant": {"id": "DM7VKY8Q63GNP", "business_name": "Apple A Day", "country": "US",
                                      "language_code": "en-US", "currency": "USD", "status": "ACTIVE",
                                      "main_location_id": "9A65CGC72ZQG1"}}),
        inactive=Reply(401, {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
                                         "detail": "This request could not be authorized."}]}),
        odd=(Reply(403, {"errors": [{"category": "AUTHENTICATION_ERROR", "code": "FORBIDDEN"}]}),
             Reply(200, {"errors": []}), HTML),
    ),
)})
CASES.update({c.kind: c for c in (
    Case(
        # https://developers.notion.com/reference/get-self, https://developers.notion.com/reference/status-codes
        kind="notion", method="GET", url="https://api.notion.com/v1/users/me",
        rule=provider_rule("notion-integration-token", "ntn_", "notion"),
        sends_token=lambda req, tok: bearer(req, tok) and req.headers.get("notion-version") == "2022-06-28",
        live=Reply(200, {"object": "user", "id": "16d84278-ab0e-484c-9bdd-b35da3bd8905", "name": "pied piper",
                         "avatar_url": None, "type": "bot", "bot": {"owner": {"type": "workspace",
                                                                              "workspace": True}}}),
        inactive=Reply(401, {"object": "error", "status": 401, "code": "unauthorized",
                             "message": "API token is invalid."}),
        odd=(Reply(403, {"object": "error", "status": 403, "code": "restricted_resource"}),
             Reply(400, {"object": "error", "status": 400, "code": "missing_version"}),
             Reply(200, {"object": "error"}), HTML),
    ),
    Case(
        # https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key
        kind="openrouter", method="GET", url="https://openrouter.ai/api/v1/key",
        rule=provider_rule("openrouter-api-key", "sk-or-v1-", "openrouter"),
        live=Reply(200, {"data": {"label": "sk-or-v1-116...0ce", "limit": 5, "usage": 0.1015644762,
                                  "is_provisioning_key": False, "limit_remaining": 4.8984355238,
                                  "is_free_tier": False, "rate_limit": {"requests": 50, "interval": "10s"}}}),
        inactive=Reply(401, {"error": {"message": "No auth credentials found", "code": 401}}),
        odd=(Reply(403, {"error": {"message": "Forbidden", "code": 403}}), Reply(200, {"error": {"code": 200}}), HTML),
    ),
    Case(
        # https://airtable.com/developers/web/api/get-user-id-scopes,
        # https://support.airtable.com/docs/airtable-api-common-troubleshooting
        kind="airtable", method="GET", url="https://api.airtable.com/v0/meta/whoami",
        rule=provider_rule("airtable-pat", "pat", "airtable"),
        live=Reply(200, {"id": "usrL2PNC5o3H4lBEi", "scopes": ["data.records:read", "schema.bases:read"]}),
        inactive=Reply(401, {"error": {"type": "AUTHENTICATION_REQUIRED",
                                       "message": "You should provide valid api key to perform this operation"}}),
        odd=(Reply(403, {"error": {"type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"}}),
             Reply(200, {"error": {"type": "?"}}), HTML),
    ),
    Case(
        # https://replicate.com/docs/reference/http#account.get
        kind="replicate", method="GET", url="https://api.replicate.com/v1/account",
        rule=provider_rule("replicate-api-token", "r8_", "replicate"),
        live=Reply(200, {"type": "organization", "username": "acme", "name": "Acme Corp, Inc.",
                         "github_url": "https://github.com/acme"}),
        inactive=Reply(401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
                             "status": 401}),
        odd=(Reply(403, {"title": "Forbidden", "status": 403}), Reply(200, {"title": "?"}), HTML),
    ),
)})
