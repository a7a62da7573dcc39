"""Verifiers. The registry is explicit; a test checks that every module is registered."""

from __future__ import annotations

from verifiers.airtable import AirtableVerifier
from verifiers.anthropic import AnthropicVerifier
from verifiers.aws import AwsVerifier
from verifiers.base import Verifier
from verifiers.brevo import BrevoVerifier
from verifiers.cloudflare import CloudflareVerifier
from verifiers.cohere import CohereVerifier
from verifiers.deepseek import DeepSeekVerifier
from verifiers.digitalocean import DigitalOceanVerifier
from verifiers.github import GitHubVerifier
from verifiers.gitlab import GitLabVerifier
from verifiers.groq import GroqVerifier
from verifiers.heroku import HerokuVerifier
from verifiers.http import HttpVerifier
from verifiers.huggingface import HuggingFaceVerifier
from verifiers.introspection import IntrospectionVerifier
from verifiers.mailchimp import MailchimpVerifier
from verifiers.mistral import MistralVerifier
from verifiers.netlify import NetlifyVerifier
from verifiers.notion import NotionVerifier
from verifiers.npm import NpmVerifier
from verifiers.openai import OpenAIVerifier
from verifiers.openrouter import OpenRouterVerifier
from verifiers.postmark import PostmarkVerifier
from verifiers.replicate import ReplicateVerifier
from verifiers.sendgrid import SendGridVerifier
from verifiers.slack import SlackVerifier
from verifiers.square import SquareVerifier
from verifiers.stripe import StripeVerifier
from verifiers.supabase import SupabaseVerifier
from verifiers.terraform import TerraformVerifier
from verifiers.twilio import TwilioVerifier
from verifiers.vercel import VercelVerifier
from verifiers.xai import XaiVerifier

_ALL: tuple[type[Verifier], ...] = (
    # generic
    IntrospectionVerifier, HttpVerifier,
    # providers of the built-in rule pack
    GitHubVerifier, GitLabVerifier, SlackVerifier, NpmVerifier, OpenAIVerifier, AnthropicVerifier,
    HuggingFaceVerifier, StripeVerifier, SendGridVerifier, DigitalOceanVerifier,
    # providers added with the wider pack (issue 13); aws and twilio verify pairs only
    AwsVerifier, TwilioVerifier, CloudflareVerifier, GroqVerifier, DeepSeekVerifier, MistralVerifier,
    HerokuVerifier, NetlifyVerifier, PostmarkVerifier, BrevoVerifier, MailchimpVerifier, TerraformVerifier,
    VercelVerifier, CohereVerifier, XaiVerifier, SupabaseVerifier, SquareVerifier, NotionVerifier,
    OpenRouterVerifier, AirtableVerifier, ReplicateVerifier,
)
VERIFIERS: dict[str, type[Verifier]] = {cls.kind: cls for cls in _ALL}
