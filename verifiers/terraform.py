"""HCP Terraform: ``GET /api/v2/account/details`` (read-only; the token's user)."""

from __future__ import annotations

from typing import ClassVar

from crawler.config.model import Url
from verifiers.base import IdentityVerifier, VerifierOptions


class TerraformOptions(VerifierOptions):
    api_url: Url = "https://app.terraform.io"
    """API root; ``/api/v2/account/details`` is appended."""


class TerraformVerifier(IdentityVerifier):
    """HCP Terraform tokens, asked who they are."""

    kind = "terraform"
    Options = TerraformOptions
    options: TerraformOptions
    rules: ClassVar[frozenset[str]] = frozenset({"terraform-cloud-token"})
    provider = "HCP Terraform"
    path = "/api/v2/account/details"
    extra_headers: ClassVar[dict[str, str]] = {'Content-Type': 'application/vnd.api+json'}
    live_key = "data"
    inactive_status = frozenset({401})
    docs = ("https://developer.hashicorp.com/terraform/cloud-docs/api-docs/account#get-your-account-details"
            " (401 unauthorized)")
