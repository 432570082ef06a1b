"""The one crypto API (caseflow.security.crypto) under both suites: seal, open, hash, rotate, refuse tampering."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from caseflow.security.crypto import SUITES, Keyring, Undecryptable

SECRET = "a-test-secret"


def _derive(info: bytes, length: int, hash_) -> bytes:
    return HKDF(algorithm=hash_, length=length, salt=b"caseflow", info=info).derive(SECRET.encode())


@pytest.mark.parametrize("suite", SUITES)
def test_tokens_open_by_the_documented_algorithm(suite):
    """A token is <mark>:<key id>:base64(nonce + ciphertext + tag), the header its associated data:
    opened here with ``cryptography``'s own AES-GCM / SM4-GCM, independently of the keyring."""
    keys = Keyring(SECRET, suite)
    token = keys.encrypt("410105201503081234|G410105201503081234|13812345678")
    mark, kid, body = token.split(":")
    raw = base64.b64decode(body)
    assert mark == {"aes": "a", "sm4": "s"}[suite] and kid == _derive(b"key-id", 4, hashes.SHA256()).hex()
    header = f"{mark}:{kid}:".encode()
    if suite == "aes":
        plain = AESGCM(_derive(b"aead-aes-256-gcm", 32, hashes.SHA256())).decrypt(raw[:12], raw[12:], header)
    else:
        decryptor = Cipher(algorithms.SM4(_derive(b"aead-sm4-gcm", 16, hashes.SM3())),
                           modes.GCM(raw[:12], raw[-16:])).decryptor()
        decryptor.authenticate_additional_data(header)
        plain = decryptor.update(raw[12:-16]) + decryptor.finalize()
    assert plain.decode() == "410105201503081234|G410105201503081234|13812345678"
    assert keys.decrypt(token) == plain.decode()
    assert keys.encrypt("x") != keys.encrypt("x")  # a random nonce each time


@pytest.mark.parametrize("suite", SUITES)
def test_keyed_hashes_are_hmac_of_the_suite(suite):
    keys = Keyring(SECRET, suite)
    name, hash_ = ("sha256", hashes.SHA256()) if suite == "aes" else ("sm3", hashes.SM3())
    lookup = _derive(b"lookup-hmac" if suite == "aes" else b"lookup-hmac-sm3", 32, hash_)
    registry = _derive(b"registry-hmac-sha256" if suite == "aes" else b"registry-hmac-sm3", 32, hash_)
    value = "410105201503081234"
    assert keys.lookup_hash(value) == hmac.new(lookup, value.encode(), lambda: hashlib.new(name)).hexdigest()
    expected = int.from_bytes(hmac.digest(registry, value.encode(), lambda: hashlib.new(name))[:8], "big",
                              signed=True)
    assert keys.registry_key(value) == expected
    # An ID number: bytes 8..16 of the HMAC of "G" + the number, which is the registry number's HMAC in a G row.
    assert keys.id_key(value) == int.from_bytes(
        hmac.digest(registry, b"G" + value.encode(), lambda: hashlib.new(name))[8:16], "big", signed=True)
    assert keys.lookup_hash("") is None and keys.registry_key("") is None and keys.lookup_hashes(None) == []
    assert keys.id_key("") is None and keys.id_key(None) is None


@pytest.mark.parametrize("suite", SUITES)
def test_the_keys_of_an_import_s_rows_are_the_keys_of_each_value(suite):
    """record_keys shares one HMAC where the registry number is "G" + the ID number and hashes twice elsewhere:
    every row gets what registry_key and id_key give its values one at a time (null where there is none)."""
    import polars as pl

    keys = Keyring(SECRET, suite)
    value = "410105201503081234"
    rows = [("G" + value, value), ("J" + value, value), ("L123456789012345678", None), ("G" + value[:-1] + "5", ""),
            (None, value), ("", "X1234567"), ("G学", "学"), ("g" + value, value)]
    registry, ids = keys.record_keys(pl.Series([r for r, _ in rows], dtype=pl.String),
                                     pl.Series([i for _, i in rows], dtype=pl.String))
    assert registry.dtype == ids.dtype == pl.Int64
    assert registry.to_list() == [keys.registry_key(r) for r, _ in rows]
    assert ids.to_list() == [keys.id_key(i) for _, i in rows]
    assert ids[0] != registry[0] and ids[0] == ids[1]  # the same number, shared or hashed apart
    empty = pl.Series([], dtype=pl.String)
    assert [s.to_list() for s in keys.record_keys(empty, empty)] == [[], []]


def test_the_default_lookup_hash_is_the_one_stored_before():
    """HMAC-SHA-256 under the HKDF key caseflow has always used: hashes stored by earlier versions still match."""
    old_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"caseflow", info=b"lookup-hmac").derive(b"k")
    assert Keyring("k").lookup_hash("13812345678") == hmac.new(old_key, b"13812345678", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("suite", SUITES)
def test_rotation_newest_key_seals_every_key_opens(suite):
    old = Keyring("old-key", suite)
    token = old.encrypt("13812345678")
    both = Keyring("new-key,old-key", suite)
    assert both.decrypt(token) == "13812345678" and not both.is_current(token)
    fresh = both.rotate(token)
    assert both.is_current(fresh) and both.rotate(fresh) == fresh and fresh != token
    assert Keyring("new-key", suite).decrypt(fresh) == "13812345678"
    with pytest.raises(Undecryptable):
        Keyring("new-key", suite).decrypt(token)  # the old key retired
    assert both.lookup_hashes("x")[:2] == [both.lookup_hash("x"), old.lookup_hash("x")]
    assert old.registry_key("x") != both.registry_key("x")


def test_either_suite_opens_under_either_setting():
    aes, sm4 = Keyring(SECRET, "aes"), Keyring(SECRET, "sm4")
    assert sm4.decrypt(aes.encrypt("v")) == "v" and aes.decrypt(sm4.encrypt("v")) == "v"
    assert not sm4.is_current(aes.encrypt("v")) and sm4.rotate(aes.encrypt("v")).startswith("s:")
    assert aes.lookup_hash("v") != sm4.lookup_hash("v") and aes.lookup_hash("v") in sm4.lookup_hashes("v")


@pytest.mark.parametrize("suite", SUITES)
def test_tampered_foreign_and_legacy_tokens_are_refused(suite):
    keys = Keyring(SECRET, suite)
    token = keys.encrypt("410105201503081234")
    mark, kid, body = token.split(":")
    raw = bytearray(base64.b64decode(body))
    raw[14] ^= 1
    other_mark = "s" if mark == "a" else "a"
    for bad in (f"{mark}:{kid}:" + base64.b64encode(bytes(raw)).decode(),  # a flipped bit
                f"{other_mark}:{kid}:{body}",  # the header is authenticated
                f"{mark}:00000000:{body}", f"{mark}:{kid}:!!", f"{mark}:{kid}:" + base64.b64encode(b"short").decode(),
                "gAAAAABfernet-token", "~" + body, body):  # Fernet / EAX / GCM tokens of earlier versions
        with pytest.raises(Undecryptable):
            keys.decrypt(bad)


@pytest.mark.parametrize("suite", SUITES)
def test_bytes_and_many_values(suite):
    keys = Keyring(SECRET, suite)
    blob = bytes(range(256)) * 10
    assert keys.decrypt_bytes(keys.encrypt_bytes(blob)) == blob
    values = [b"", b"a", "学籍".encode(), b"x" * 1000]
    tokens = keys.encrypt_column(values).to_list()
    assert [keys.decrypt(t).encode() for t in tokens] == values and len(set(tokens)) == len(tokens)


def test_an_unknown_suite_or_an_empty_key_is_refused():
    with pytest.raises(ValueError, match="CASEFLOW_CRYPTO_SUITE"):
        Keyring(SECRET, "des")
    with pytest.raises(ValueError):
        Keyring(" , ")
