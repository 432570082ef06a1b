"""Application-level encryption and keyed hashes of personal data: one API, keys held by the app.

Every value caseflow keeps encrypted (ID numbers, phones and registry numbers of
people, registry rows, TOTP secrets, attachments) is sealed by :class:`Keyring`
with an AEAD, and found by a keyed hash of its normalised value, so the database
never needs the plaintext.  Only maintained primitives from ``cryptography``:

======================  =========================  =====================
``CASEFLOW_CRYPTO_SUITE``  AEAD                     keyed hash
======================  =========================  =====================
``aes`` (default)       AES-256-GCM                HMAC-SHA-256
``sm4``                 SM4-GCM (GB/T 32907)       HMAC-SM3 (GB/T 32905)
======================  =========================  =====================

``CASEFLOW_DATA_KEY`` is a comma-separated list of secrets: the first seals and
hashes, every one opens (rotation: ``flask security rotate-key``).  A token is
``<suite>:<key id>:<base64(12-byte nonce + ciphertext + 16-byte tag)>``, its
header the associated data, so it names the suite and the key that open it and
either suite opens under either setting.  The app factory builds the keyring
(``app.extensions["crypto"]``); processes without an app (the registry import's
workers) build their own from the same two settings.
"""
from __future__ import annotations

import base64
import binascii
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:  # NumPy and Polars only for the bulk functions, not in every process that imports this
    import numpy as np
    import polars as pl
    from flask import Flask

SUITES = ("aes", "sm4")
_BYTES_HEADER = re.compile(rb"[as]:[0-9a-f]{8}:")
_MARKS = {"aes": "a", "sm4": "s"}  # the token's first character
NONCE = 12  # a multiple of 3: its base64 has no padding (encrypt_column)
TAG = 16


class Undecryptable(RuntimeError):
    """A token that none of the configured keys opens (a retired key, or tampering)."""


def _derive(secret: str, info: bytes, length: int, hash_: hashes.HashAlgorithm) -> bytes:
    return HKDF(algorithm=hash_, length=length, salt=b"caseflow", info=info).derive(secret.encode())


class _SuiteKey:
    """One secret's keys under one suite: the AEAD and the two HMAC keys."""

    def __init__(self, secret: str, suite: str) -> None:
        self.suite, self.mark = suite, _MARKS[suite]
        self.kid = _derive(secret, b"key-id", 4, hashes.SHA256()).hex()
        self.header = f"{self.mark}:{self.kid}:"
        self.aad = self.header.encode()
        if suite == "aes":
            # The lookup key is the one caseflow has always used: stored HMAC-SHA-256 hashes stay valid.
            self.lookup = hmac.HMAC(_derive(secret, b"lookup-hmac", 32, hashes.SHA256()), hashes.SHA256())
            self.registry = hmac.HMAC(_derive(secret, b"registry-hmac-sha256", 32, hashes.SHA256()), hashes.SHA256())
            self._aead = AESGCM(_derive(secret, b"aead-aes-256-gcm", 32, hashes.SHA256()))
        else:
            self.lookup = hmac.HMAC(_derive(secret, b"lookup-hmac-sm3", 32, hashes.SM3()), hashes.SM3())
            self.registry = hmac.HMAC(_derive(secret, b"registry-hmac-sm3", 32, hashes.SM3()), hashes.SM3())
            self._sm4 = algorithms.SM4(_derive(secret, b"aead-sm4-gcm", 16, hashes.SM3()))

    def seal(self, nonce: bytes, plain: bytes) -> bytes:
        """nonce + ciphertext + tag."""
        if self.suite == "aes":
            return nonce + self._aead.encrypt(nonce, plain, self.aad)
        encryptor = Cipher(self._sm4, modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(self.aad)
        return nonce + encryptor.update(plain) + encryptor.finalize() + encryptor.tag

    def open(self, raw: bytes) -> bytes:
        """The plaintext of nonce + ciphertext + tag; ``InvalidTag`` if it was not sealed by this key."""
        if len(raw) < NONCE + TAG:
            raise InvalidTag
        nonce, body = raw[:NONCE], raw[NONCE:]
        if self.suite == "aes":
            return self._aead.decrypt(nonce, body, self.aad)
        decryptor = Cipher(self._sm4, modes.GCM(nonce, body[-TAG:])).decryptor()
        decryptor.authenticate_additional_data(self.aad)
        return decryptor.update(body[:-TAG]) + decryptor.finalize()

    def mac(self, base: hmac.HMAC, data: bytes) -> bytes:
        h = base.copy()  # the keyed state is set up once; a copy costs less than a new HMAC
        h.update(data)
        return h.finalize()


@dataclass(frozen=True)
class CryptoSettings:
    """What a process needs to build the same keyring: the data key list and the suite."""

    data_key: str
    suite: str = "aes"


class Keyring:
    """The data keys of a deployment under its suite: seals, opens and hashes personal data."""

    def __init__(self, data_key: str, suite: str = "aes") -> None:
        suite = (suite or "aes").strip().lower()
        if suite not in SUITES:
            raise ValueError(f"CASEFLOW_CRYPTO_SUITE must be one of {', '.join(SUITES)}, not {suite!r}")
        secrets_ = [k.strip() for k in data_key.split(",") if k.strip()]
        if not secrets_:
            raise ValueError("empty data key")
        self.settings = CryptoSettings(data_key, suite)
        self.suite = suite
        # Every secret under both suites opens; the first secret under the configured suite seals and hashes.
        self._keys = {(s, suite_): _SuiteKey(s, suite_) for s in secrets_ for suite_ in SUITES}
        self._openers = {(k.mark, k.kid): k for k in self._keys.values()}
        self.current = self._keys[(secrets_[0], suite)]
        # Lookups of rows that are never rewritten (the audit log): every key, the configured suite first.
        self._lookup_order = [self._keys[(s, suite)] for s in secrets_] + [
            self._keys[(s, other)] for other in SUITES if other != suite for s in secrets_]

    # -- sealing ------------------------------------------------------------------------------------

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Seal bytes (an attachment, say): the token's header, then nonce + ciphertext + tag."""
        return self.current.aad + self.current.seal(os.urandom(NONCE), data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        """Open :meth:`encrypt_bytes` output with whichever configured key sealed it."""
        mark, kid, raw = _split(token)
        return self._open(mark.decode("ascii", "replace"), kid.decode("ascii", "replace"), raw)

    def encrypt(self, value: str) -> str:
        """Seal a string; the token is ASCII text for a TEXT column."""
        key = self.current
        return key.header + binascii.b2a_base64(key.seal(os.urandom(NONCE), value.encode()), newline=False).decode()

    def encrypt_column(self, values: Sequence[bytes]) -> pl.Series:
        """:meth:`encrypt` of many UTF-8 values (a registry import's rows), as a Polars String column.

        One AEAD call a value; the random nonces come from one system call and the base64 is done
        column-wise (Polars), which leaves the AEAD call as the only per-value work.  A nonce is 12 bytes, a
        whole number of base64 groups, so base64(nonce + sealed) is base64(nonce) + base64(sealed) and the two
        are never joined as bytes.
        """
        import numpy as np
        import polars as pl

        key = self.current
        nonces = np.frombuffer(os.urandom(NONCE * len(values)), dtype=f"V{NONCE}").tolist()  # bytes each
        if key.suite == "aes":
            sealed = list(map(key._aead.encrypt, nonces, values, itertools.repeat(key.aad, len(values))))
        else:
            sealed = [key.seal(nonce, value)[NONCE:] for nonce, value in zip(nonces, values, strict=True)]
        return pl.select(pl.lit(key.header) + pl.Series(nonces, dtype=pl.Binary).bin.encode("base64")
                         + pl.Series(sealed, dtype=pl.Binary).bin.encode("base64")).to_series()

    def decrypt(self, token: str) -> str:
        """Open a token sealed under any configured key and either suite."""
        mark, kid, body = _split(token)
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise Undecryptable("not a caseflow token") from None
        return self._open(mark, kid, raw).decode()

    def _open(self, mark: str, kid: str, raw: bytes) -> bytes:
        key = self._openers.get((mark, kid))
        if key is not None:
            try:
                return key.open(raw)
            except InvalidTag:
                pass
        raise Undecryptable("personal data cannot be decrypted with the configured keys")

    def is_current(self, token: str | bytes) -> bool:
        """The token is sealed under the newest key and the configured suite (rotation can skip it)."""
        if isinstance(token, bytes):
            return token.startswith(self.current.aad)
        return token.startswith(self.current.header)

    @staticmethod
    def is_token(data: bytes) -> bool:
        """``data`` starts like :meth:`encrypt_bytes` output (a file stored before encryption does not)."""
        return _BYTES_HEADER.match(data) is not None

    def rotate(self, token: str) -> str:
        """The same value sealed under the newest key and the configured suite."""
        return token if self.is_current(token) else self.encrypt(self.decrypt(token))

    # -- keyed hashes -------------------------------------------------------------------------------

    def lookup_hash(self, value: str | None) -> str | None:
        """Keyed hash (hex) of a normalised value for exact-match lookups; None for an empty value."""
        if not value:
            return None
        return self.current.mac(self.current.lookup, value.encode()).hex()

    def lookup_hashes(self, value: str | None) -> list[str]:
        """The keyed hash of ``value`` under every configured key and both suites, the current one first.

        For rows that are never rewritten (the append-only audit log, access codes), so a search still
        finds them after a key or suite change while the old key is configured.
        """
        if not value:
            return []
        data = value.encode()
        return [key.mac(key.lookup, data).hex() for key in self._lookup_order]

    def registry_key(self, value: str | None) -> int | None:
        """The 64-bit key of a registry number (a BIGINT column): the first 8 bytes of its registry HMAC, as a
        signed integer; None for an empty value.

        A small index key that builds and joins fast.  A collision among 17 million values has odds of about
        1 in 100,000; lookups compare the masked number too.
        """
        if not value:
            return None
        return _as_bigint(self.current.mac(self.current.registry, value.encode())[:8])

    def id_key(self, value: str | None) -> int | None:
        """The 64-bit key of an ID number: bytes 8..16 of the registry HMAC of ``"G"`` + the number.

        Most registry numbers are "G" + the student's ID number, so one HMAC gives such a row both its keys
        (:meth:`record_keys`): the two are different bytes of one pseudo-random output, as independent of
        each other as two HMACs.  None for an empty value.
        """
        if not value:
            return None
        return _as_bigint(self.current.mac(self.current.registry, (ID_KEY_PREFIX + value).encode())[8:16])

    def record_keys(self, registry_numbers: pl.Series, id_numbers: pl.Series) -> tuple[pl.Series, pl.Series]:
        """:meth:`registry_key` and :meth:`id_key` of each row of a registry import, as two Int64 columns.

        One HMAC a row whose registry number is "G" + its ID number, two for the others; null where a value
        is null or empty.
        """
        import numpy as np
        import polars as pl

        has_registry = (registry_numbers.is_not_null() & (registry_numbers != "")).fill_null(False)
        has_id = (id_numbers.is_not_null() & (id_numbers != "")).fill_null(False)
        shared = (has_registry & has_id & (registry_numbers == ID_KEY_PREFIX + id_numbers)).fill_null(False)
        digests = self._digests(registry_numbers.filter(has_registry))
        registry = np.zeros(len(registry_numbers), dtype=np.int64)
        registry[has_registry.to_numpy()] = _int64(digests[:, :8])
        ids = np.zeros(len(id_numbers), dtype=np.int64)
        ids[shared.to_numpy()] = _int64(digests[shared.filter(has_registry).to_numpy(), 8:16])
        others = has_id & ~shared
        if others.any():
            ids[others.to_numpy()] = _int64(self._digests(ID_KEY_PREFIX + id_numbers.filter(others))[:, 8:16])
        return (pl.select(pl.when(has_registry).then(pl.Series(registry))).to_series(),
                pl.select(pl.when(has_id).then(pl.Series(ids))).to_series())

    def _digests(self, values: pl.Series) -> np.ndarray:
        """The registry HMAC of each (non-null) value of a String column: an (n, 32) array of bytes."""
        import numpy as np
        import polars as pl

        copy = self.current.registry.copy  # the keyed state is set up once; a copy costs less than a new HMAC
        digests = b"".join([(h := copy(), h.update(value), h.finalize())[2]
                            for value in values.cast(pl.Binary).to_list()])
        return np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)


# An ID number is keyed as "G" + the number: what its holder's registry number is in the common case.
ID_KEY_PREFIX = "G"


def _int64(columns: np.ndarray) -> np.ndarray:
    """Rows of 8 bytes as big-endian signed integers (:func:`_as_bigint` of each)."""
    import numpy as np

    return np.ascontiguousarray(columns).view(">i8").astype(np.int64).ravel()


def _as_bigint(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


def _split(token):
    """(mark, key id, rest) of a token (str or bytes)."""
    sep = ":" if isinstance(token, str) else b":"
    parts = token.split(sep, 2)
    if len(parts) != 3 or len(parts[0]) != 1:
        raise Undecryptable("not a caseflow token")
    return parts[0], parts[1], parts[2]


# -- the app's keyring ----------------------------------------------------------------------------------

def init_app(app: Flask) -> Keyring:
    """Build the app's keyring from ``DATA_KEY`` and ``CRYPTO_SUITE`` and keep it in ``app.extensions``."""
    keyring = Keyring(app.config["DATA_KEY"], app.config.get("CRYPTO_SUITE", "aes"))
    app.extensions["crypto"] = keyring
    return keyring


def keyring() -> Keyring:
    """The current app's keyring."""
    from flask import current_app

    return current_app.extensions["crypto"]


def encrypt(value: str) -> str:
    """:meth:`Keyring.encrypt` with the current app's keys."""
    return keyring().encrypt(value)


def decrypt(token: str) -> str:
    """:meth:`Keyring.decrypt` with the current app's keys."""
    return keyring().decrypt(token)


def lookup_hash(value: str | None) -> str | None:
    """:meth:`Keyring.lookup_hash` with the current app's keys."""
    return keyring().lookup_hash(value)


def lookup_hashes(value: str | None) -> list[str]:
    """:meth:`Keyring.lookup_hashes` with the current app's keys."""
    return keyring().lookup_hashes(value)


def registry_key(value: str | None) -> int | None:
    """:meth:`Keyring.registry_key` with the current app's keys."""
    return keyring().registry_key(value)


def id_key(value: str | None) -> int | None:
    """:meth:`Keyring.id_key` with the current app's keys."""
    return keyring().id_key(value)
