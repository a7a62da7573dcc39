"""Work refs sealed with the store's cipher: a parked document's or a queued push's ``ref`` is built
from names the public chose (a gist's file name, a repository's name, a paste's title) and may hold a
token, which is never stored in plaintext. A sealed ref is ``{"sealed": base64(nonce || ciphertext+tag)}``
of its JSON, bound to its row by the associated data (a ref moved to another row does not open).
A ref that is not sealed (written before sealing, or holding nothing token-like) is read as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from crawler.kernel.errors import EncryptionKeyError
from crawler.store.crypto import Cipher

SEALED = "sealed"
"""The one key of a sealed ``ref``."""


def seal(cipher: Cipher | None, aad: bytes, ref: Mapping[str, Any]) -> dict[str, Any]:
    if cipher is None:
        raise EncryptionKeyError("no key loaded")
    plain = json.dumps(dict(ref), separators=(",", ":")).encode()
    return {SEALED: base64.b64encode(cipher.encrypt(plain, aad)).decode("ascii")}


def unseal(cipher: Cipher | None, aad: bytes, ref: Any, what: str) -> Any:
    """``ref`` opened if it is sealed, else as it is; ``what`` names the row in an error."""
    sealed = ref.get(SEALED) if isinstance(ref, dict) and len(ref) == 1 else None
    if not isinstance(sealed, str):
        return ref
    if cipher is None:
        raise EncryptionKeyError("no key loaded")
    try:
        blob = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionKeyError(f"the stored ref of {what} is not sealed data") from None
    return json.loads(cipher.decrypt(blob, aad))
