"""AES modes over many values at once: CMAC and EAX for a whole column.

CMAC (RFC 4493, NIST SP 800-38B) and EAX (Bellare, Rogaway, Wagner 2004; the
mode of ANSI C12.22) are built only from AES block encryptions.  For values of
equal length every block position is one AES-ECB call over all the values
(AES-NI in OpenSSL) and the chaining and counters are NumPy array operations,
instead of one library call per value (~1 µs each, most of it call overhead).
Values of different lengths are handled one length at a time; a column has
few.  ``caseflow.security.crypto`` holds the keys and the single-value
counterparts, and the tests hold these functions to ``cryptography``'s CMAC
and to PyCryptodome's EAX.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

Encrypt = Callable[[bytes], bytes]
NONCE = 12  # bytes of random nonce in an EAX token (EAX takes any length; 12 keeps GCM's token size)
TAG = 16


def ecb(key: bytes) -> Encrypt:
    """AES encryption of whole 16-byte blocks, any number at once."""
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update


def _blocks(encrypt: Encrypt, blocks: np.ndarray) -> np.ndarray:
    """AES of each 16-byte row of ``blocks`` (rows, 16)."""
    return np.frombuffer(encrypt(np.ascontiguousarray(blocks).tobytes()), dtype=np.uint8).reshape(-1, 16)


def subkeys(encrypt: Encrypt) -> tuple[np.ndarray, np.ndarray]:
    """K1, K2 of RFC 4493 section 2.3, from L = AES(K, 0^128)."""
    def double(block: int) -> int:
        return ((block << 1) & (2**128 - 1)) ^ (0x87 if block >> 127 else 0)

    k1 = double(int.from_bytes(encrypt(bytes(16)), "big"))
    return (np.frombuffer(k1.to_bytes(16, "big"), dtype=np.uint8),
            np.frombuffer(double(k1).to_bytes(16, "big"), dtype=np.uint8))


def cmac_rows(encrypt: Encrypt, keys: tuple[np.ndarray, np.ndarray], message: np.ndarray,
              chain: np.ndarray | None = None) -> np.ndarray:
    """The CMAC of each row of ``message`` (rows, size): (rows, 16).

    ``chain``: the CBC state after blocks that come before every row (EAX's full prefix block
    ``[t]``), so that a constant prefix is encrypted once, not once a row.  Without it the rows are
    whole messages; a row after a prefix must not be empty (the prefix would be the last block).
    """
    rows, size = message.shape
    if chain is not None and not size:
        raise ValueError("an empty message after a prefix block")
    blocks = max(1, -(-size // 16))
    padded = np.zeros((rows, 16 * blocks), dtype=np.uint8)
    padded[:, :size] = message
    if size == 16 * blocks:  # a full last block takes K1; a padded one (10*) takes K2
        padded[:, -16:] ^= keys[0]
    else:
        padded[:, size] = 0x80
        padded[:, -16:] ^= keys[1]
    state = np.zeros((rows, 16), dtype=np.uint8) if chain is None else np.broadcast_to(chain, (rows, 16))
    for i in range(blocks):
        state = _blocks(encrypt, state ^ padded[:, 16 * i:16 * i + 16])
    return state


def counter_blocks(start: np.ndarray, count: int) -> np.ndarray:
    """(rows, count, 16): each row's 128-bit big-endian counter ``start`` + 0 .. count-1, modulo 2**128."""
    as_int = start.view(">u8").astype(np.uint64)  # (rows, 2): high and low halves
    high, low = as_int[:, 0:1], as_int[:, 1:2]
    steps = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        lows = low + steps
        highs = high + (lows < low).astype(np.uint64)  # the carry out of the low half
    out = np.empty((len(start), count, 2), dtype=">u8")
    out[:, :, 0], out[:, :, 1] = highs, lows
    return out.view(np.uint8).reshape(len(start), count, 16)


class Eax:
    """EAX with 16-byte tags and empty associated data, over rows of equal length at a time."""

    def __init__(self, key: bytes) -> None:
        self.encrypt = ecb(key)
        self.keys = subkeys(self.encrypt)
        # The CBC states after the prefix blocks [0], [2] (nonce and ciphertext OMACs), and H' = OMAC^1(empty).
        self.after = {t: _blocks(self.encrypt, np.frombuffer(t.to_bytes(16, "big"), dtype=np.uint8)[None])
                      for t in (0, 2)}
        self.header = cmac_rows(self.encrypt, self.keys, np.frombuffer((1).to_bytes(16, "big"),
                                                                       dtype=np.uint8)[None])

    def seal_rows(self, nonces: np.ndarray, plain: np.ndarray) -> np.ndarray:
        """(rows, NONCE + size + TAG): nonce, ciphertext and tag of each row of ``plain`` (rows, size)."""
        rows, size = plain.shape
        start = cmac_rows(self.encrypt, self.keys, nonces, self.after[0])  # N'
        if size:
            blocks = -(-size // 16)
            stream = _blocks(self.encrypt, counter_blocks(start, blocks).reshape(-1, 16)).reshape(rows, -1)
            cipher = plain ^ stream[:, :size]
            mac = cmac_rows(self.encrypt, self.keys, cipher, self.after[2])
        else:  # an empty value: OMAC^2 of nothing is the CMAC of the lone block [2]
            cipher = plain
            mac = cmac_rows(self.encrypt, self.keys, np.frombuffer((2).to_bytes(16, "big"), dtype=np.uint8)[None])
        tag = start ^ mac ^ self.header
        return np.concatenate([nonces, cipher, tag], axis=1)


def base64_rows(raw: np.ndarray) -> np.ndarray:
    """Standard base64 of each row of ``raw`` (rows, width) as ASCII codes (rows, 4 * ceil(width / 3)).

    Each row is zero-padded to a multiple of 3 and the whole array encoded in one call; the encoding of
    a zero-padded group is the padded encoding with '=' in place of its last one or two characters.
    """
    import base64

    rows, width = raw.shape
    pad = -width % 3
    if pad:
        raw = np.concatenate([raw, np.zeros((rows, pad), dtype=np.uint8)], axis=1)
    text = np.frombuffer(base64.b64encode(np.ascontiguousarray(raw).tobytes()), dtype=np.uint8)
    text = text.reshape(rows, -1).copy()
    if pad:
        text[:, -pad:] = ord("=")
    return text


def by_length(data: bytes, lengths: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row indices, values as a (rows, length) array) for each distinct length of values stored end to end."""
    raw = np.frombuffer(data, dtype=np.uint8)
    distinct = np.unique(lengths)
    if not len(distinct):
        return
    if len(distinct) == 1:
        yield np.arange(len(lengths)), raw.reshape(len(lengths), int(distinct[0]))
        return
    # One zero-padded row a value (a boolean-mask fill keeps the bytes in order), then whole rows a length:
    # cheaper than gathering every byte by index.
    padded = np.zeros((len(lengths), int(distinct[-1])), dtype=np.uint8)
    padded[np.arange(padded.shape[1]) < lengths[:, None]] = raw
    for size in distinct:
        rows = np.flatnonzero(lengths == size)
        yield rows, padded[rows, :int(size)]
