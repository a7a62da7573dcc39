"""The one exception tree of leakpatrol.

    LeakpatrolError
    ├── ConfigError            invalid config file, key or value (names file, key, problem)
    ├── EncryptionKeyError     encryption key missing, malformed or wrong
    ├── SigningKeyError        the deployment's ECDSA signing key missing or malformed
    ├── RuleError              a token rule that cannot be compiled
    ├── StoreError             the database cannot be opened or migrated
    ├── SourceError            one source failed one poll (affects that source alone)
    │   ├── SourceUnavailable  transport error, timeout, 5xx after retries
    │   ├── RateLimited        429 / 403 rate limit / Retry-After: carries the wait
    │   ├── MalformedPage      a page that is not what the API documents
    │   ├── SourceDisabled     a configuration problem found at run time (e.g. pastebin IP not whitelisted)
    │   ├── ForbiddenURL       a request to a host (or over a scheme) the source is not built to fetch
    │   ├── BudgetSpent        the poll spent its byte or page budget: it ends keeping its progress
    │   ├── DocumentSkipped    one document that cannot be had (gone, not content): skipped, counted
    │   └── DocumentNotReady   one document the service asks us to fetch later: parked
    ├── DeliveryError          a notifier could not be built or called
    └── HookFailed             the issuer's revocation hook failed (reference receiver: answer 5xx)

Every class builds its message in ``__init__``. No message ever carries a plaintext token:
callers pass the redacted form (see :mod:`crawler.detect.redaction`).
"""

from __future__ import annotations


class LeakpatrolError(Exception):
    """Base class of every error leakpatrol raises on purpose."""


class ConfigError(LeakpatrolError):
    """A config file, key or value is invalid."""

    def __init__(self, problem: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = file or "config"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {problem}")


class EncryptionKeyError(LeakpatrolError):
    """The encryption key is missing, malformed or does not decrypt the store."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"encryption key: {problem}")


class SigningKeyError(LeakpatrolError):
    """The deployment's ECDSA P-256 signing key (GitHub partner alerts) is missing or malformed."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"signing key: {problem}")


class RuleError(LeakpatrolError):
    """A token rule is invalid."""

    def __init__(self, rule_id: str, problem: str) -> None:
        self.rule_id, self.problem = rule_id, problem
        super().__init__(f"rule {rule_id!r}: {problem}")


class StoreError(LeakpatrolError):
    """The store cannot be opened, migrated or used."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"store: {problem}")


class SourceError(LeakpatrolError):
    """One poll of one source failed; the source backs off, the others keep running."""

    def __init__(self, source: str, problem: str) -> None:
        self.source, self.problem = source, problem
        super().__init__(f"source {source}: {problem}")


class SourceUnavailable(SourceError):
    """Transport error, timeout or 5xx that outlived the retry policy."""


class MalformedPage(SourceError):
    """A response that does not have the documented shape."""


class SourceDisabled(SourceError):
    """A configuration problem that disables the source until it is fixed."""


class ForbiddenURL(SourceError):
    """A request to a host outside the source's allow-list, or over plain http to a non-loopback host."""

    def __init__(self, source: str, url: str, why: str = "host is not one this source is built to fetch") -> None:
        self.url = url
        super().__init__(source, f"refusing to fetch {url}: {why}")


class DocumentSkipped(SourceError):
    """One document cannot be had for good (404/410/451, an answer that is not content, an item that
    fails validation). ``reason`` is the short label counted in ``leakpatrol_documents_skipped_total``."""

    def __init__(self, source: str, reason: str, problem: str) -> None:
        self.reason = reason
        super().__init__(source, problem)


class DocumentNotReady(SourceError):
    """The service asked for one document to be fetched again later (``retry_after`` seconds)."""

    def __init__(self, source: str, retry_after: float, problem: str) -> None:
        self.retry_after = max(0.0, retry_after)
        super().__init__(source, problem)


class BudgetSpent(SourceError):
    """The poll spent its ``[http] max_poll_bytes`` or ``max_poll_pages``: it ends here, keeping its
    progress (not a failure)."""


class RateLimited(SourceError):
    """The service asked us to wait ``retry_after`` seconds."""

    def __init__(self, source: str, retry_after: float, why: str) -> None:
        self.retry_after = max(0.0, retry_after)
        super().__init__(source, f"rate limited ({why}); waiting {self.retry_after:.0f}s")


class DeliveryError(LeakpatrolError):
    """A notifier could not be built or called."""

    def __init__(self, notifier: str, problem: str) -> None:
        self.notifier, self.problem = notifier, problem
        super().__init__(f"notifier {notifier}: {problem}")


class HookFailed(LeakpatrolError):
    """The issuer's revocation hook did not succeed (non-zero exit, timeout, exception)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"revocation hook failed: {problem}")
