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
_eax_keys: list[bytes] = []
_registry_key: bytes | None = None


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caseflow", info=purpose).derive(
        secret.encode()
    )


def configure(data_key: str) -> None:
    """Install the keys; called by the app factory (and by jobs through it)."""
    global _fernet, _newest, _hmac_key, _hmac_keys, _aead_keys, _eax_keys, _registry_key
    secrets_ = [k.strip() for k in data_key.split(",") if k.strip()]
    if not secrets_:
        raise ValueError("empty data key")
    fernets = [Fernet(base64.urlsafe_b64encode(_derive(s, b"encrypt"))) for s in secrets_]
    _fernet, _newest = MultiFernet(fernets), fernets[0]
    # The lookup hash uses the newest key; `flask security rotate-key` recomputes it.
    _hmac_keys = [_derive(s, b"lookup-hmac") for s in secrets_]
    _hmac_key = _hmac_keys[0]
    _aead_keys = [AESGCM(_derive(s, b"bulk-aead")) for s in secrets_]  # opens tokens sealed before EAX
    _eax_keys = [_derive(s, b"bulk-eax") for s in secrets_]
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
    """Authenticated encryption of one value of bulk personal data (registry rows); see :func:`seal_column`."""
    data = value.encode()
    return seal_column(data, [len(data)])[0].decode()


def seal_column(data: bytes, lengths) -> np.ndarray:
    """Seal many values at once: ``data`` is their UTF-8 bytes end to end, ``lengths`` their byte lengths.

    Returns one ASCII token a value (a NumPy ``S`` array), ``"~"`` + base64(12-byte random nonce +
    AES-256-EAX ciphertext + 16-byte tag) under the newest key.  EAX is CTR encryption plus CMAC
    authentication, both plain AES block operations, so a whole column is sealed with a few AES-ECB calls
    per distinct length (``caseflow.security.blockwise``) instead of one AES-GCM call a value: ~0.2 µs
    instead of ~1 µs a value.  :func:`unseal` opens these and the older AES-GCM tokens.
    """
    import numpy as np

    from caseflow.security import blockwise

    lengths = np.asarray(lengths, dtype=np.int64)
    nonces = np.frombuffer(os.urandom(blockwise.NONCE * len(lengths)), dtype=np.uint8).reshape(-1, blockwise.NONCE)
    eax = blockwise.Eax(_seal_key())
    groups = []
    for rows, plain in blockwise.by_length(data, lengths):
        text = blockwise.base64_rows(eax.seal_rows(nonces[rows], plain))
        groups.append((rows, np.concatenate([np.full((len(rows), 1), ord(EAX_MARK), dtype=np.uint8), text],
                                            axis=1)))
    width = max((text.shape[1] for _, text in groups), default=1)
    tokens = np.zeros(len(lengths), dtype=f"S{width}")
    for rows, text in groups:  # shorter tokens are NUL-padded by the S type and read back without the NULs
        tokens[rows] = np.ascontiguousarray(text).view(f"S{text.shape[1]}").ravel()
    return tokens


EAX_MARK = "~"  # not a base64 character: tells EAX tokens from the AES-GCM ones sealed before


def unseal(token: str) -> str:
    """Open a :func:`seal` / :func:`seal_column` token (or an older AES-GCM one) with any configured key."""
    if token.startswith(EAX_MARK):
        raw = base64.b64decode(token[1:])
        for key in _eax_keys:
            plain = _eax_open(key, raw)
            if plain is not None:
                return plain.decode()
    else:
        raw = base64.b64decode(token)
        for aead in _aead_keys:
            try:
                return aead.decrypt(raw[:12], raw[12:], None).decode()
            except InvalidTag:
                continue
    raise RuntimeError("personal data cannot be decrypted with the configured keys")


def _eax_open(key: bytes, raw: bytes) -> bytes | None:
    """EAX decryption of one token's bytes with ``cryptography``'s CMAC and AES-CTR; None if the tag fails."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.cmac import CMAC

    from caseflow.security import blockwise

    def omac(tweak: int, message: bytes) -> bytes:
        mac = CMAC(algorithms.AES(key))
        mac.update(tweak.to_bytes(16, "big") + message)
        return mac.finalize()

    if len(raw) < blockwise.NONCE + blockwise.TAG:
        return None
    nonce, cipher, tag = raw[:blockwise.NONCE], raw[blockwise.NONCE:-blockwise.TAG], raw[-blockwise.TAG:]
    start = omac(0, nonce)
    expected = bytes(a ^ b ^ c for a, b, c in zip(start, omac(1, b""), omac(2, cipher), strict=True))
    if not hmac.compare_digest(expected, tag):
        return None
    # OpenSSL's CTR counts with the whole 16-byte block, as EAX does.
    decryptor = Cipher(algorithms.AES(key), modes.CTR(start)).decryptor()
    return decryptor.update(cipher) + decryptor.finalize()


def registry_keys(data: bytes, lengths) -> np.ndarray:
    """The registry keys of many values at once: ``data`` is their UTF-8 bytes end to end, ``lengths``
    (a NumPy integer array) their byte lengths; returns an int64 array, one key per value.

    A key is the first 8 bytes of the AES-CMAC (RFC 4493, NIST SP 800-38B) of the value, as a signed
    integer for a BIGINT column: a small index key that builds and joins fast.  A collision among 17
    million values has odds of about 1 in 100,000, and a lookup compares the masked number too.
    A whole column is computed a block position at a time (``caseflow.security.blockwise``); the tests
    hold it to ``cryptography``'s own CMAC.  Snapshots are re-imported, not re-keyed, after a key change.
    """
    import numpy as np

    from caseflow.security import blockwise

    encrypt = blockwise.ecb(_registry_secret())
    keys = blockwise.subkeys(encrypt)
    lengths = np.asarray(lengths, dtype=np.int64)
    tags = np.empty((len(lengths), 16), dtype=np.uint8)
    for rows, values in blockwise.by_length(data, lengths):
        tags[rows] = blockwise.cmac_rows(encrypt, keys, values)
    return tags[:, :8].copy().view(">i8").astype(np.int64).ravel()


def bulk_keys() -> tuple[bytes, bytes]:
    """(registry key secret, newest EAX key): what the compiled import path (``registry._codec``) computes
    :func:`registry_keys` and :func:`seal_column` with."""
    return _registry_secret(), _seal_key()


def _seal_key() -> bytes:
    """The newest EAX key, which seals; every configured one opens."""
    if not _eax_keys:
        raise RuntimeError("crypto not configured: create the app first")
    return _eax_keys[0]


def _registry_secret() -> bytes:
    if _registry_key is None:
        raise RuntimeError("crypto not configured: create the app first")
    return _registry_key


def registry_key(value: str | None) -> int | None:
    """The registry key of one value (lookups), as :func:`registry_keys` stores it; None for an empty value."""
    if not value:
        return None
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    mac = CMAC(algorithms.AES(_registry_secret()))
    mac.update(value.encode())
    return int.from_bytes(mac.finalize()[:8], "big", signed=True)
