"""AWS: STS ``GetCallerIdentity`` (read-only; needs no permission at all), signed with Signature V4.

Only a pair can be verified: the token is ``<access key id>:<secret access key>`` as the scanner
reports a paired finding; a key id alone makes no request. The secret never leaves this process:
only the key id and an HMAC signature are sent.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from crawler.config.model import Url
from crawler.detect.rules import Rule, split_pair
from verifiers.base import Verdict, Verifier, VerifierOptions, unexpected

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
# 403 codes for credentials that do not authenticate (a pair that is not, or no longer, valid):
# https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
REJECTED = ("<Code>InvalidClientTokenId</Code>", "<Code>SignatureDoesNotMatch</Code>", "<Code>ExpiredToken</Code>")


class AwsOptions(VerifierOptions):
    api_url: Url = "https://sts.amazonaws.com"
    """The STS endpoint (global; signed for ``region``)."""
    region: str = "us-east-1"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4(*, method: str, path: str, query: str, headers: dict[str, str], body: bytes, key_id: str,
          secret: str, region: str, service: str, amz_date: str) -> str:
    """The ``Authorization`` header of AWS Signature Version 4 (headers must include host and x-amz-date).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    names = sorted(k.lower() for k in headers)
    values = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    canonical = "\n".join([method, path, query, "".join(f"{n}:{values[n]}\n" for n in names), ";".join(names),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


class AwsVerifier(Verifier):
    """Access key id + secret access key pairs (``aws-access-key``)."""

    kind = "aws"
    Options = AwsOptions
    options: AwsOptions
    rules: ClassVar[frozenset[str]] = frozenset({"aws-access-key"})

    async def check(self, token: str, rule: Rule) -> Verdict:
        pair = split_pair(token)
        if pair is None:
            return Verdict.unknown("an access key id alone cannot be verified (no secret access key paired)")
        key_id, secret = pair
        url = self.options.api_url.rstrip("/") + "/"
        headers = {"Host": urlsplit(url).netloc, "X-Amz-Date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
                   "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        headers["Authorization"] = sigv4(method="POST", path="/", query="", headers=headers,
                                         body=BODY, key_id=key_id, secret=secret, region=self.options.region,
                                         service="sts", amz_date=headers["X-Amz-Date"])
        resp = await self.request("POST", url, headers=headers, content=BODY)
        if resp.status_code == 403 and any(code in resp.text for code in REJECTED):
            # InvalidClientTokenId / SignatureDoesNotMatch / ExpiredToken: the pair does not authenticate.
            # https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
            return Verdict.inactive("AWS STS rejected the key pair (HTTP 403)")
        if resp.status_code == 200 and "<GetCallerIdentityResult>" in resp.text:
            # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html (Examples)
            return Verdict.live("AWS STS accepted the key pair (HTTP 200)")
        return unexpected("AWS STS", resp)
