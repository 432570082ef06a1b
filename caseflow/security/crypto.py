"""Application-level encryption and keyed hashes for personal data.

The data key comes from ``CASEFLOW_DATA_KEY`` (comma-separated: the first key
encrypts, every key decrypts, which is how rotation works).  Exact-match lookups
use an HMAC of the normalised value, so the database never needs the plaintext.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_fernet: MultiFernet | None = None
_newest: Fernet | None = None
_hmac_key: bytes | None = None
_hmac_keys: list[bytes] = []
_aead_keys: list[AESGCM] = []
_registry_key: bytes | None = None


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caseflow", info=purpose).derive(
        secret.encode()
    )


def configure(data_key: str) -> None:
    """Install the keys; called by the app factory (and by jobs through it)."""
    global _fernet, _newest, _hmac_key, _hmac_keys, _aead_keys, _registry_key
    secrets_ = [k.strip() for k in data_key.split(",") if k.strip()]
    if not secrets_:
        raise ValueError("empty data key")
    fernets = [Fernet(base64.urlsafe_b64encode(_derive(s, b"encrypt"))) for s in secrets_]
    _fernet, _newest = MultiFernet(fernets), fernets[0]
    # The lookup hash uses the newest key; `flask security rotate-key` recomputes it.
    _hmac_keys = [_derive(s, b"lookup-hmac") for s in secrets_]
    _hmac_key = _hmac_keys[0]
    _aead_keys = [AESGCM(_derive(s, b"bulk-aead")) for s in secrets_]
    _registry_key = _derive(secrets_[0], b"registry-key")


def _require() -> MultiFernet:
    if _fernet is None:
        raise RuntimeError("crypto not configured: create the app first")
    return _fernet


def encrypt(value: str) -> str:
    """Encrypt a string; the result is ASCII text safe for a TEXT column."""
    return _require().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with any configured key."""
    try:
        return _require().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # pragma: no cover - key misconfiguration
        raise RuntimeError("personal data cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key."""
    return _require().rotate(token.encode()).decode()


def is_current(token: str) -> bool:
    """The token is already encrypted under the newest key (rotation can skip it)."""
    _require()
    try:
        _newest.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def lookup_hashes(value: str | None) -> list[str]:
    """The keyed hash of ``value`` under every configured key, newest first.

    For rows that are never rewritten (the append-only audit log), so a search
    still finds entries hashed under a retired key while that key is configured.
    """
    if not value:
        return []
    return [hmac.new(k, value.encode(), hashlib.sha256).hexdigest() for k in _hmac_keys]


def lookup_hash(value: str | None) -> str | None:
    """Keyed hash of a normalised value for exact-match lookups."""
    if not value:
        return None
    if _hmac_key is None:
        raise RuntimeError("crypto not configured: create the app first")
    return hmac.new(_hmac_key, value.encode(), hashlib.sha256).hexdigest()


def seal(value: str) -> str:
    """Fast authenticated encryption for bulk personal data (registry rows): ~1 µs vs Fernet's ~7 µs.

    Format: base64(12-byte nonce + AES-256-GCM ciphertext); the newest key seals, every key opens.
    """
    return seal_many([value])[0]


def seal_many(values: list[str]) -> list[str]:
    """:func:`seal` for a batch: the same format, with the random nonces drawn in one call."""
    nonces, sealed = seal_parts([value.encode() for value in values])
    b64 = base64.b64encode
    return [b64(nonces[12 * k:12 * k + 12] + ciphertext).decode() for k, ciphertext in enumerate(sealed)]


def seal_parts(values: list[bytes]) -> tuple[bytes, list[bytes]]:
    """The parts of :func:`seal` tokens for bulk work: all the nonces in one string, and each ciphertext.

    The token of ``values[k]`` is base64(nonces[12k:12k+12] + ciphertexts[k]); as 12 is a multiple of 3 that
    is base64(nonces)[16k:16k+16] + base64(ciphertexts[k]), which a caller can build column-wise.
    """
    if not _aead_keys:
        raise RuntimeError("crypto not configured: create the app first")
    encrypt = _aead_keys[0].encrypt
    nonces = os.urandom(12 * len(values))
    return nonces, [encrypt(nonces[12 * k:12 * k + 12], value, None) for k, value in enumerate(values)]


def unseal(token: str) -> str:
    """Open a :func:`seal` token with any configured key."""
    raw = base64.b64decode(token)
    for key in _aead_keys:
        try:
            return key.decrypt(raw[:12], raw[12:], None).decode()
        except InvalidTag:
            continue
    raise RuntimeError("personal data cannot be decrypted with the configured keys")


def registry_keyer():
    """The keyed 64-bit hash of registry numbers and ID numbers in registry snapshots (bulk form).

    Keyed BLAKE2b (RFC 7693) cut to 8 bytes, as a signed integer for a BIGINT column: a small,
    fast index key (a collision among 17 million values has odds of about 1 in 100,000, and a lookup
    compares the masked number too).  Snapshots are re-imported rather than re-keyed after a key change.
    Returns a function of a list of encoded values: their 8-byte big-endian digests, concatenated.
    """
    if _registry_key is None:
        raise RuntimeError("crypto not configured: create the app first")
    start = hashlib.blake2b(key=_registry_key, digest_size=8, person=b"caseflow-reg").copy

    def _digest(value: bytes) -> bytes:
        h = start()
        h.update(value)
        return h.digest()

    def _keys(values: list[bytes]) -> bytes:
        return b"".join(map(_digest, values))

    return _keys


def registry_key(value: str | None) -> int | None:
    """The registry key of one value (lookups), as the BIGINT stored; None for an empty value."""
    if not value:
        return None
    return int.from_bytes(registry_keyer()([value.encode()]), "big", signed=True)
