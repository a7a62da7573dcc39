"""Verifiers. The registry is explicit; a test checks that every module is registered."""

from __future__ import annotations

from verifiers.anthropic import AnthropicVerifier
from verifiers.base import Verifier
from verifiers.digitalocean import DigitalOceanVerifier
from verifiers.github import GitHubVerifier
from verifiers.gitlab import GitLabVerifier
from verifiers.http import HttpVerifier
from verifiers.huggingface import HuggingFaceVerifier
from verifiers.introspection import IntrospectionVerifier
from verifiers.npm import NpmVerifier
from verifiers.openai import OpenAIVerifier
from verifiers.sendgrid import SendGridVerifier
from verifiers.slack import SlackVerifier
from verifiers.stripe import StripeVerifier

_ALL: tuple[type[Verifier], ...] = (
    # generic
    IntrospectionVerifier, HttpVerifier,
    # providers of the built-in rule pack
    GitHubVerifier, GitLabVerifier, SlackVerifier, NpmVerifier, OpenAIVerifier, AnthropicVerifier,
    HuggingFaceVerifier, StripeVerifier, SendGridVerifier, DigitalOceanVerifier,
)
VERIFIERS: dict[str, type[Verifier]] = {cls.kind: cls for cls in _ALL}
