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
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:  # NumPy is loaded by the bulk functions only, not by every process that imports this module
    import numpy as np

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
    nonce, (ciphertext,) = seal_parts([value.encode()])
    return base64.b64encode(nonce + ciphertext).decode()


def seal_parts(values: list[bytes]) -> tuple[bytes, list[bytes]]:
    """:func:`seal` in parts, for bulk work: all the nonces in one string (drawn in one call), and each ciphertext.

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


def registry_keys(data: bytes, lengths) -> np.ndarray:
    """The registry keys of many values at once: ``data`` is their UTF-8 bytes end to end, ``lengths``
    (a NumPy integer array) their byte lengths; returns an int64 array, one key per value.

    A key is the first 8 bytes of the AES-CMAC (RFC 4493, NIST SP 800-38B) of the value, as a signed
    integer for a BIGINT column: a small index key that builds and joins fast.  A collision among 17
    million values has odds of about 1 in 100,000, and a lookup compares the masked number too.
    CMAC is a chain of AES block encryptions, so a whole column is computed with one AES-ECB call per
    block position (AES-NI in OpenSSL) and the chaining XORs in NumPy, instead of one MAC call a value;
    the tests hold it to ``cryptography``'s own CMAC.  Snapshots are re-imported, not re-keyed, after a
    key change.
    """
    import numpy as np
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    encrypt = Cipher(algorithms.AES(_registry_secret()), modes.ECB()).encryptor().update
    k1, k2 = (np.frombuffer(k, dtype=np.uint8) for k in _cmac_subkeys(encrypt(bytes(16))))
    lengths = np.asarray(lengths, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    tags = np.empty((len(lengths), 16), dtype=np.uint8)
    for size in np.unique(lengths):  # a column has few distinct lengths: one batch each
        size = int(size)
        rows = np.flatnonzero(lengths == size)
        blocks = max(1, -(-size // 16))
        message = np.zeros((len(rows), 16 * blocks), dtype=np.uint8)
        if len(rows) == len(lengths):
            message[:, :size] = raw.reshape(len(rows), size)
        elif size:
            message[:, :size] = raw[starts[rows, None] + np.arange(size)]
        if size == 16 * blocks:  # a full last block takes K1; a padded one (10*) takes K2
            message[:, -16:] ^= k1
        else:
            message[:, size] = 0x80
            message[:, -16:] ^= k2
        chain = np.zeros((len(rows), 16), dtype=np.uint8)
        for i in range(blocks):
            chain = np.frombuffer(encrypt((chain ^ message[:, 16 * i:16 * i + 16]).tobytes()),
                                  dtype=np.uint8).reshape(-1, 16)
        tags[rows] = chain
    return tags[:, :8].copy().view(">i8").astype(np.int64).ravel()


def _registry_secret() -> bytes:
    if _registry_key is None:
        raise RuntimeError("crypto not configured: create the app first")
    return _registry_key


def _cmac_subkeys(zero_block: bytes) -> tuple[bytes, bytes]:
    """K1, K2 of RFC 4493 section 2.3 from L = AES(K, 0^128)."""
    def double(block: int) -> int:
        return ((block << 1) & (2**128 - 1)) ^ (0x87 if block >> 127 else 0)

    k1 = double(int.from_bytes(zero_block, "big"))
    return k1.to_bytes(16, "big"), double(k1).to_bytes(16, "big")


def registry_key(value: str | None) -> int | None:
    """The registry key of one value (lookups), as :func:`registry_keys` stores it; None for an empty value."""
    if not value:
        return None
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    mac = CMAC(algorithms.AES(_registry_secret()))
    mac.update(value.encode())
    return int.from_bytes(mac.finalize()[:8], "big", signed=True)
