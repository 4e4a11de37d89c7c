"""Bech32 (BIP 173 checksum, constant 1) as age uses it: without the 90-character limit.

age encodes keys with it: X25519 ``age1…``/``AGE-SECRET-KEY-1…``, hybrid post-quantum
``age1pq1…`` (1216-byte key, about 1960 characters) and ``AGE-SECRET-KEY-PQ-1…``, tag
recipients ``age1tag1…``/``age1tagpq1…``. A string is all lower or all upper case; the
checksum is over the lower-case form. Errors never quote the input (it may be a secret).
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """Malformed Bech32 (the message never contains the input)."""


def _top_table() -> tuple[int, ...]:
    """For each 5-bit top value, the XOR of the generators it selects: one lookup per symbol
    instead of five tests (a post-quantum recipient has about 3,900 symbols)."""
    table = []
    for top in range(32):
        acc = 0
        for i, generator in enumerate(_GENERATORS):
            if (top >> i) & 1:
                acc ^= generator
        table.append(acc)
    return tuple(table)


_TOP_TABLE = _top_table()


def _polymod(values: list[int]) -> int:
    chk = 1
    table = _TOP_TABLE
    for value in values:
        chk = ((chk & 0x1FFFFFF) << 5 ^ value) ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    max_value = (1 << to_bits) - 1
    max_acc = (1 << (from_bits + to_bits - 1)) - 1  # keeps acc a small int
    for value in data:
        acc = ((acc << from_bits) | value) & max_acc
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise Bech32Error("bech32: invalid padding")
    return out


def encode(hrp: str, data: bytes, *, upper: bool = False) -> str:
    """``hrp`` + ``1`` + data + checksum; ``upper`` for identities (``AGE-SECRET-KEY-…``)."""
    hrp = hrp.lower()
    words = _convert_bits(data, 8, 5, pad=True)
    checksum = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    words += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    text = hrp + "1" + "".join(_CHARSET[w] for w in words)
    return text.upper() if upper else text


def decode(text: str) -> tuple[str, bytes]:
    """``(hrp, data)`` with ``hrp`` lower-cased; raises :class:`Bech32Error`."""
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("bech32: mixed case")
    if not text.isascii() or not text.isprintable() or " " in text:
        raise Bech32Error("bech32: invalid character")
    lower = text.lower()
    pos = lower.rfind("1")
    if pos < 1 or pos + 7 > len(lower):
        raise Bech32Error("bech32: separator or checksum missing")
    hrp, rest = lower[:pos], lower[pos + 1 :]
    try:
        words = [_VALUES[c] for c in rest]
    except KeyError:
        raise Bech32Error("bech32: invalid character") from None
    if _polymod([*_hrp_expand(hrp), *words]) != 1:
        raise Bech32Error("bech32: checksum mismatch")
    return hrp, bytes(_convert_bits(words[:-6], 5, 8, pad=False))


def decode_key(text: str, hrp: str, *, upper: bool) -> bytes:
    """The data of an age key string with prefix ``hrp``, all upper case (an identity) or
    all lower case (a recipient); raises :class:`Bech32Error` (``bech32: …`` or ``wrong
    prefix or case``), which the key classes reword as their own error."""
    got_hrp, data = decode(text)
    if got_hrp != hrp or text != (text.upper() if upper else text.lower()):
        raise Bech32Error("wrong prefix or case")
    return data
