"""Column-wise EAX sealing (caseflow.security.blockwise) against PyCryptodome's EAX, an independent implementation."""
from __future__ import annotations

import base64

import numpy as np
import pytest
from Crypto.Cipher import AES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseflow.security import blockwise


def _parts(token: bytes | str) -> tuple[bytes, bytes, bytes]:
    text = token.decode() if isinstance(token, bytes) else token
    assert text.startswith("~")
    raw = base64.b64decode(text[1:], validate=True)
    return raw[:12], raw[12:-16], raw[-16:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(max_size=70), min_size=1, max_size=25))
def test_sealed_column_is_eax_and_opens(app, values):
    from caseflow.security import crypto

    data = [v.encode() for v in values]
    tokens = crypto.seal_column(b"".join(data), [len(d) for d in data])
    assert len(tokens) == len(values)
    for value, token in zip(values, tokens, strict=True):
        nonce, cipher, tag = _parts(token)
        reference = AES.new(crypto._eax_keys[0], AES.MODE_EAX, nonce=nonce, mac_len=16)
        assert reference.decrypt_and_verify(cipher, tag) == value.encode()
        assert crypto.unseal(token.decode()) == value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(min_size=1, max_size=100))
def test_pycryptodome_eax_token_opens(app, value):
    from caseflow.security import crypto

    reference = AES.new(crypto._eax_keys[0], AES.MODE_EAX, nonce=bytes(range(12)), mac_len=16)
    cipher, tag = reference.encrypt_and_digest(value)
    token = "~" + base64.b64encode(bytes(range(12)) + cipher + tag).decode()
    try:
        expected = value.decode()
    except UnicodeDecodeError:
        return
    assert crypto.unseal(token) == expected


def test_every_block_shape_in_one_column(app):
    from caseflow.security import crypto

    values = ["a", "x" * 15, "y" * 16, "z" * 17, "学" * 10, "w" * 32, "v" * 33, "籍" * 30,
              "410105201503081234|G410105201503081234|13812345678", "a"]
    data = [v.encode() for v in values]
    tokens = crypto.seal_column(b"".join(data), [len(d) for d in data])
    assert [crypto.unseal(t.decode()) for t in tokens] == values
    assert tokens[0] != tokens[-1]  # a fresh nonce a value
    assert {len(_parts(t)[1]) for t in tokens} == {len(d) for d in data}


def test_counter_carries_across_the_halves():
    starts = [2**64 - 2, 2**128 - 1, 5, (7 << 64) | (2**64 - 1)]
    blocks = blockwise.counter_blocks(np.array([list(s.to_bytes(16, "big")) for s in starts], dtype=np.uint8), 3)
    for row, start in zip(blocks, starts, strict=True):
        assert [int.from_bytes(bytes(b), "big") for b in row] == [(start + i) % 2**128 for i in range(3)]


def test_old_gcm_tokens_rotation_and_tampering(app):
    from caseflow.security import crypto

    # A token sealed with AES-GCM before EAX: still opens.
    nonce = bytes(12)
    legacy = base64.b64encode(nonce + crypto._aead_keys[0].encrypt(nonce, b"410105|G410105|", None)).decode()
    assert crypto.unseal(legacy) == "410105|G410105|"
    token = crypto.seal("410105201503081234|G410105201503081234|")
    raw = bytearray(base64.b64decode(token[1:]))
    raw[14] ^= 1
    with pytest.raises(RuntimeError):
        crypto.unseal("~" + base64.b64encode(bytes(raw)).decode())
    empty, two = crypto.seal_column(b"ab", [0, 2])  # an empty value seals too (OMAC^2 of nothing)
    assert crypto.unseal(empty.decode()) == "" and crypto.unseal(two.decode()) == "ab"
    nonce, cipher, tag = _parts(empty)
    assert AES.new(crypto._eax_keys[0], AES.MODE_EAX, nonce=nonce, mac_len=16).decrypt_and_verify(cipher, tag) == b""
    key = app.config["DATA_KEY"]
    try:
        crypto.configure("a-newer-key," + key)  # rotation: the newest key seals, every key opens
        assert crypto.unseal(token) == "410105201503081234|G410105201503081234|"
        newer = crypto.seal("x|y|")
        assert _parts(newer)[2] != b"" and crypto.unseal(newer) == "x|y|"
        crypto.configure(key)
        with pytest.raises(RuntimeError):
            crypto.unseal(newer)
    finally:
        crypto.configure(key)
