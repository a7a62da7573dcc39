"""Encryption at rest for found tokens (AES-256-GCM from ``cryptography``).

Key format (the same in ``$LEAKPATROL_KEY`` and in the key file ``init`` writes, mode 0600)::

    lpkey1:<urlsafe-base64 of 32 random bytes>

Each token is stored as ``nonce(12) || ciphertext+tag`` with its fingerprint as associated data, so
a ciphertext cannot be moved to another row. A missing or wrong key is an error, never a re-key.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crawler.config.model import Config, secret
from crawler.kernel.errors import EncryptionKeyError
from crawler.kernel.files import write_private_file

logger = logging.getLogger(__name__)
KEY_PREFIX = "lpkey1:"
CHECK_PLAINTEXT = b"leakpatrol key check v1"


def generate_key() -> str:
    return KEY_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def parse_key(text: str, where: str) -> bytes:
    text = text.strip()
    if not text.startswith(KEY_PREFIX):
        raise EncryptionKeyError(f"{where} does not hold a leakpatrol key "
                        f"(expected '{KEY_PREFIX}…', as `leakpatrol init` writes)")
    try:
        raw = base64.urlsafe_b64decode(text[len(KEY_PREFIX):].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise EncryptionKeyError(f"{where} is not valid base64") from None
    if len(raw) != 32:
        raise EncryptionKeyError(f"{where} must hold 32 bytes, found {len(raw)}")
    return raw


def write_key_file(path: Path) -> bool:
    """Create the key file with mode 0600; never overwrites an existing key. ``False`` if another
    process created it first."""
    return write_private_file(path, generate_key() + "\n")


class Cipher:
    """Encrypts and decrypts token values; ``check_blob`` lets the store detect a wrong key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            raise EncryptionKeyError("the key does not decrypt the stored tokens (wrong key?)") from None

    def check_blob(self) -> bytes:
        return self.encrypt(CHECK_PLAINTEXT, b"check")

    def verify_check(self, blob: bytes) -> None:
        if self.decrypt(blob, b"check") != CHECK_PLAINTEXT:
            raise EncryptionKeyError("the key does not match this store")


def load_cipher(cfg: Config, *, create: bool) -> Cipher:
    """``key_env`` first, then ``key_file``. ``create`` makes a missing key file (0600, one log line)."""
    value = secret(cfg.storage.key_env)
    if value:
        return Cipher(parse_key(value, f"${cfg.storage.key_env}"))
    path = cfg.resolve_path(cfg.storage.key_file)
    if not path.exists():
        if not create:
            raise EncryptionKeyError(f"no key: ${cfg.storage.key_env} is unset and {path} does not exist")
        if write_key_file(path):
            logger.warning("created a new encryption key file %s (mode 0600); back it up", path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise EncryptionKeyError(f"cannot read {path}: {exc}") from None
    return Cipher(parse_key(text, str(path)))
