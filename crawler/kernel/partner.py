"""GitHub's secret-scanning partner protocol: the wire format both directions share.

GitHub (docs.github.com, "Secret scanning partner program") POSTs a JSON array of alerts
``[{"token", "type", "url", "source"}]``. The raw body is signed with ECDSA P-256 / SHA-256
(``ECDSA-NIST-P256V1-SHA256``): the base64 DER signature travels in ``Github-Public-Key-Signature``,
the key is named by ``Github-Public-Key-Identifier`` and the keys are published as
``{"public_keys": [{"key_identifier", "key", "is_current"}]}``. The partner's answer may carry
feedback ``[{"token_raw" | "token_hash", "token_type", "label": "true_positive" | "false_positive"}]``.

leakpatrol speaks it both ways: the reference receiver verifies alerts (:mod:`crawler.receiver.partner`),
and the ``github_partner`` notifier signs leakpatrol's findings with the deployment's own key
(:class:`SigningKeys`, found through :class:`DeploymentKey`), whose public half the daemon publishes
at :data:`KEYS_PATH`. A key identifier is the hex SHA-256 of the key's DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crawler.kernel.errors import SigningKeyError
from crawler.kernel.files import write_private_file

KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
KIND = "github_partner"
"""The notifier kind that sends this format, and the ``source`` of the event a received alert becomes."""
GITHUB_KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"
KEYS_PATH = "/meta/public_keys/secret_scanning"
LABELS = ("true_positive", "false_positive")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----[A-Za-z0-9+/=\s]*?-----END \1-----")
"""One PEM block; the body class has no '-', so the lazy match cannot run past its END line."""


def key_identifier(public_key: ec.EllipticCurvePublicKey) -> str:
    """The hex SHA-256 of the key's DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii").strip()


def verify(public_key: ec.EllipticCurvePublicKey, body: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64 DER) is ``public_key``'s ECDSA/SHA-256 signature of ``body``."""
    try:
        der = base64.b64decode(signature.strip(), validate=True)
        public_key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _p256_public(pem: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not an ECDSA P-256 public key")
    return key


def parse_public_keys(document: bytes | str) -> dict[str, ec.EllipticCurvePublicKey]:
    """``{"public_keys": [{"key_identifier", "key"}]}`` → identifier → key. Raises ``ValueError``
    naming what is wrong when the document does not have that shape or a key is not P-256."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the keys document is not JSON") from None
    entries = data.get("public_keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError('the keys document has no "public_keys" array')
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for i, entry in enumerate(entries):
        kid, pem = (entry.get("key_identifier"), entry.get("key")) if isinstance(entry, dict) else (None, None)
        if not isinstance(kid, str) or not kid or not isinstance(pem, str):
            raise ValueError(f"public_keys[{i}] lacks a key_identifier or key string")
        try:
            keys[kid] = _p256_public(pem)
        except (ValueError, UnicodeEncodeError, TypeError) as exc:
            raise ValueError(f"public_keys[{i}] ({kid[:16]}): {exc}") from None
    return keys


def generate_pem() -> str:
    """A new ECDSA P-256 private key as PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem.decode("ascii")


@dataclass(frozen=True)
class SigningKeys:
    """The deployment's signing keys: the first signs, all of them are published (a rotation keeps
    the previous key in the file until every receiver has the new one)."""

    keys: tuple[ec.EllipticCurvePrivateKey, ...]

    @property
    def current_id(self) -> str:
        return key_identifier(self.keys[0].public_key())

    def sign(self, body: bytes) -> dict[str, str]:
        """The two headers of a partner alert whose raw body is ``body``."""
        der = self.keys[0].sign(body, ec.ECDSA(hashes.SHA256()))
        return {KEY_ID_HEADER: self.current_id, SIGNATURE_HEADER: base64.b64encode(der).decode("ascii")}

    def document(self) -> dict[str, Any]:
        """The public keys, as GitHub publishes its own (``/meta/public_keys/secret_scanning``)."""
        return {"public_keys": [
            {"key_identifier": key_identifier(k.public_key()), "key": public_pem(k.public_key()),
             "is_current": i == 0} for i, k in enumerate(self.keys)]}


@functools.lru_cache(maxsize=8)
def _parse_private(text: str) -> SigningKeys:
    keys = []
    for block in _PEM_BLOCK.finditer(text):
        if "PRIVATE KEY" not in block[1]:
            continue
        key = serialization.load_pem_private_key(block[0].encode("ascii"), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("a key is not an ECDSA P-256 private key")
        keys.append(key)
    if not keys:
        raise ValueError("no PEM private key found")
    return SigningKeys(tuple(keys))


def parse_signing_keys(text: str, where: str) -> SigningKeys:
    """Parse one or more PEM private keys; the error names ``where``, never the text."""
    try:
        return _parse_private(text)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        problem = str(exc) if isinstance(exc, ValueError) and str(exc).startswith(("no PEM", "a key")) \
            else "a PEM block cannot be read"
        raise SigningKeyError(f"{where} does not hold an ECDSA P-256 private key in PEM "
                              f"(as `leakpatrol init` writes): {problem}") from None


@dataclass(frozen=True)
class DeploymentKey:
    """Where the deployment's signing key lives: the variable ``env`` first, then the file ``path``.
    Read on each use, so a rotated file is picked up without a restart."""

    env: str
    path: Path

    def load(self) -> SigningKeys:
        value = os.environ.get(self.env, "").strip() if self.env else ""
        if value:
            return parse_signing_keys(value, f"${self.env}")
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise SigningKeyError(f"${self.env} is unset and {self.path} does not exist "
                                  "(`leakpatrol init` or `leakpatrol run` creates it)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyError(f"cannot read {self.path}: {exc}") from None
        return parse_signing_keys(text, str(self.path))

    def exists(self) -> bool:
        """Whether the variable is set or the file exists (whether it loads is :meth:`load`'s question)."""
        return bool(self.env and os.environ.get(self.env, "").strip()) or self.path.exists()

    def create_if_missing(self) -> bool:
        """Write a new key file (0600) unless the variable is set or the file exists; ``True`` if written."""
        if self.exists():
            return False
        return write_private_file(self.path, generate_pem())


def feedback_label(answer: bytes | str, token: str, token_type: str | None = None) -> str | None:
    """The label a partner's answer gives ``token`` (matched by ``token_raw`` or ``token_hash``, the
    hex SHA-256), or ``None``: no feedback, not JSON, or no entry for this token."""
    try:
        entries = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return None
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("label") not in LABELS:
            continue
        if token_type is not None and entry.get("token_type") not in (None, token_type):
            continue
        raw, hashed = entry.get("token_raw"), entry.get("token_hash")
        if (isinstance(raw, str) and hmac.compare_digest(raw.encode(), token.encode())) or \
                (isinstance(hashed, str) and hashed.lower() == digest):
            return str(entry["label"])
    return None


def feedback_entries(labels: Sequence[tuple[str, str, str]]) -> list[dict[str, str]]:
    """``(token_sha256, token_type, label)`` → the answer's feedback array (by hash: never the token)."""
    return [{"token_hash": digest, "token_type": kind, "label": label} for digest, kind, label in labels
            if label in LABELS]
