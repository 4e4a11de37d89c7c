"""The value codec: typed plaintext <-> ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]``.

Byte-exact with sops 3.x (``aes/cipher.go``): AES-256-GCM with a **32-byte** IV, the
16-byte tag split off into ``tag``, standard base64 with padding, and the plaintext
serialised by type exactly as Go does (``True``/``False``, ``strconv.FormatFloat(v, 'f', -1,
64)``, RFC 3339 with trimmed nanoseconds). Empty strings are never encrypted.

The :class:`ValueCipher` keeps sops's IV *stash*: every IV seen while decrypting is
remembered under ``(type, plaintext, aad)`` and reused when the same value is encrypted
again at the same key path, so an edit leaves unchanged values byte-identical.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import math
import re
from collections.abc import Callable

from sopskit.errors import DecryptionError, EncryptionError, FormatError
from sopskit.format.aead import AESGCM, failed_authentication
from sopskit.format.tree import Comment, Value, nanosecond_of, with_nanoseconds

IV_SIZE = 32
TAG_SIZE = 16
DATA_KEY_SIZE = 32

_ENC_RE = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
_BOOL_VALUES = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)

RngFn = Callable[[int], bytes]


def is_encrypted_value(value: object) -> bool:
    """True for a string that looks like a sops ``ENC[...]`` value."""
    return isinstance(value, str) and value.startswith("ENC[AES256_GCM,")


# -- plaintext serialisation ----------------------------------------------------------------

def _shortest_digits(value: float) -> tuple[str, int]:
    """(significant digits, decimal point position) of the shortest round-trip ``abs(value)``;
    Python's ``repr`` computes the same shortest digits as Go's ``strconv``."""
    from decimal import Decimal  # here: only floats need it, and it costs a cold start ~1.5 ms

    number = Decimal(repr(abs(value)))
    if number == 0:
        return "", 0
    _, digit_tuple, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(str(d) for d in digit_tuple)
    return digits, len(digits) + exponent


def _place_point(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_format_float(value: float, verb: str = "f", prec: int = -1, *,
                    specials: tuple[str, str, str] = ("NaN", "+Inf", "-Inf")) -> str:
    """Go's ``strconv.FormatFloat(value, verb, prec, 64)``, the one copy in sopskit.

    ``verb`` is ``f``, ``e``/``E`` or ``g``/``G``; ``prec`` is -1 (shortest round-trip digits,
    what every sops store uses) or, for ``f`` only, a fixed number of decimals. ``specials``
    spells NaN, +Inf and -Inf (yaml.v3 writes ``.nan``, ``.inf``, ``-.inf``).
    """
    if verb not in ("f", "e", "E", "g", "G"):
        raise ValueError(f"unsupported float verb {verb!r}")
    if math.isnan(value):
        return specials[0]
    if math.isinf(value):
        return specials[1] if value > 0 else specials[2]
    if prec >= 0:
        if verb != "f":
            raise ValueError("a fixed precision is supported for the 'f' verb only")
        return f"{value:.{prec}f}"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, point = _shortest_digits(value)
    if not digits:
        return sign + ("0e+00" if verb in "eE" else "0")
    exp = point - 1
    if verb in "eE" or (verb in "gG" and (exp < -4 or exp >= 6)):
        letter = "E" if verb in "EG" else "e"
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}{letter}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + _place_point(digits, point)


def format_go_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent."""
    return go_format_float(value, "f")


def format_time(value: _dt.datetime) -> str:
    """Go ``time.Time.MarshalText``: RFC 3339 with nanoseconds, trailing zeros trimmed."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.UTC)
    base = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    nanos = nanosecond_of(value)
    if nanos:
        base += "." + f"{nanos:09d}".rstrip("0")
    offset = value.utcoffset() or _dt.timedelta(0)
    if not offset:
        return base + "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{base}{sign}{total // 3600:02d}:{(total % 3600) // 60:02d}"


def parse_time(text: str) -> _dt.datetime:
    """Parse RFC 3339 (Go ``time.Parse(time.RFC3339, …)``); raises ``ValueError``."""
    m = _RFC3339_RE.match(text)
    if not m:
        raise ValueError("not an RFC 3339 time")  # no value: it may be a decrypted secret
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    nanos = int((frac + "000000000")[:9]) if frac else 0
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz: _dt.tzinfo = _dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = _dt.timezone(sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return with_nanoseconds(_dt.datetime(year, month, day, hour, minute, second, tzinfo=tz), nanos)


def normalize_rfc3339(text: str) -> str:
    """Re-format a timestamp the way sops does before using it as the MAC's AAD."""
    t = parse_time(text)
    return format_time(with_nanoseconds(t, 0))


def value_to_bytes(value: Value) -> bytes:
    """sops ``ToBytes``: the bytes a plaintext value contributes to the MAC and cipher."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return format_go_float(value).encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, _dt.datetime):
        return format_time(value).encode()
    if isinstance(value, Comment):
        return value.text.encode("utf-8", "surrogateescape")
    raise EncryptionError(f"cannot serialise a value of type {type(value).__name__}")


def type_tag(value: Value) -> str:
    if isinstance(value, str):
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, bytes):
        return "str"  # sops converts []byte to string before encryption
    if isinstance(value, _dt.datetime):
        return "time"
    if isinstance(value, Comment):
        return "comment"
    raise EncryptionError(f"cannot encrypt a value of type {type(value).__name__}")


def parse_typed(plaintext: bytes, tag: str) -> Value:
    """Turn decrypted bytes back into a typed value, as sops's ``Decrypt`` does."""
    if tag == "str":
        return plaintext.decode("utf-8", "surrogateescape")
    if tag == "bytes":
        return plaintext
    text = plaintext.decode("utf-8", "surrogateescape")
    if tag == "comment":
        return Comment(text)
    if tag == "int":
        if not re.match(r"^[+-]?[0-9]+$", text):  # re's cache: compiled only if an int is met
            raise DecryptionError("a value of type int does not hold an integer")
        return int(text)
    if tag == "float":
        if "_" in text or text.strip() != text:
            raise DecryptionError("a value of type float does not hold a number")
        try:
            return float(text)
        except ValueError:
            raise DecryptionError("a value of type float does not hold a number") from None
    if tag == "bool":
        if text not in _BOOL_VALUES:
            raise DecryptionError("a value of type bool does not hold a boolean")
        return _BOOL_VALUES[text]
    if tag == "time":
        try:
            return parse_time(text)
        except ValueError:
            raise DecryptionError("a value of type time does not hold an RFC 3339 time") from None
    raise DecryptionError(f"unknown value type {tag!r} in an ENC[] value")


# -- the ENC[...] string ---------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"malformed ENC[] value: {what} is not valid base64") from None


def parse_enc(text: str) -> tuple[bytes, bytes, bytes, str]:
    """Split an ``ENC[...]`` string into (ciphertext, iv, tag, type); raises FormatError."""
    m = _ENC_RE.match(text)
    if not m:
        raise FormatError("malformed ENC[] value: expected ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]")
    data, iv, tag = (_unb64(m.group(i), name) for i, name in ((1, "data"), (2, "iv"), (3, "tag")))
    if not iv:
        raise FormatError("malformed ENC[] value: empty iv")
    return data, iv, tag, m.group(4)


class ValueCipher:
    """AES-256-GCM for one data key, with sops's IV stash for byte-stable re-encryption."""

    __slots__ = ("_aead", "_rng", "_stash")

    def __init__(self, data_key: bytes, *, rng: RngFn) -> None:
        if len(data_key) != DATA_KEY_SIZE:
            raise EncryptionError(f"data key must be {DATA_KEY_SIZE} bytes")
        self._aead = AESGCM(data_key)
        self._rng = rng
        self._stash: dict[tuple[str, bytes, bytes], bytes] = {}

    def seed_stash(self, other: ValueCipher) -> None:
        """Reuse IVs learnt by another cipher (rotate: same IVs, new key, as sops does)."""
        self._stash.update(other._stash)

    def encrypt(self, value: Value, aad: bytes) -> str:
        """Encrypt one leaf; empty strings and empty comments stay empty, like sops."""
        if (isinstance(value, str) and value == "") or (isinstance(value, Comment) and value.text == ""):
            return ""
        tag_name = type_tag(value)
        plaintext = value_to_bytes(value)
        key = (tag_name, plaintext, aad)
        iv = self._stash.get(key)
        if iv is None:
            iv = self._rng(IV_SIZE)
        sealed = self._aead.encrypt(iv, plaintext, aad)
        return (
            f"ENC[AES256_GCM,data:{_b64(sealed[:-TAG_SIZE])},iv:{_b64(iv)},"
            f"tag:{_b64(sealed[-TAG_SIZE:])},type:{tag_name}]"
        )

    def decrypt(self, text: str, aad: bytes) -> Value:
        """Decrypt one ``ENC[...]`` string at the key path given as ``aad``."""
        if text == "":
            return ""
        data, iv, tag, tag_name = parse_enc(text)
        try:
            plaintext = self._aead.decrypt(iv, data + tag, aad)
        except ValueError:
            raise FormatError("malformed ENC[] value: bad iv or tag length") from None
        except Exception as exc:
            if not failed_authentication(exc):
                raise
            raise DecryptionError(
                "a value failed authentication: it was tampered with, moved to another key, "
                "or encrypted with another data key"
            ) from None
        value = parse_typed(plaintext, tag_name)
        self._stash[(type_tag(value) if tag_name != "bytes" else "str", value_to_bytes(value), aad)] = iv
        return value
