"""The age v1 file format (c2sp.org/age): header, header MAC and STREAM payload.

pyrage does this for SSH recipients (and encrypts to X25519); this module is the native
decryption path for X25519 identities (:mod:`sopskit.keys.age_x25519`, which keeps pyrage's
native library out of a cold decrypt) and for the recipient types pyrage lacks
(``mlkem768x25519``). It is written from the specification and checked against the C2SP
CCTV test vectors (tests/keys/test_age_cctv.py).

Errors say which layer failed, as the vectors name them: :class:`AgeHeaderError` (header
does not parse, a stanza for us is malformed), :class:`AgeNoMatchError` (well-formed, no
identity unwraps it), :class:`AgeHmacError` (header MAC mismatch), :class:`AgePayloadError`
(STREAM failure; ``released`` holds the plaintext an age streaming reader would have
returned before the error) and :class:`AgeArmorError` (ASCII armour). Nothing here holds a
message with key material.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Sequence

from sopskit.errors import FormatError
from sopskit.record import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION_LINE = b"age-encryption.org/v1\n"
_INTRO = b"age-encryption.org/"
_STANZA_PREFIX = b"-> "
_MAC_PREFIX = b"---"
_COLUMNS = 64
FILE_KEY_SIZE = 16
_CHUNK = 64 * 1024
_TAG = 16
_NONCE = 16
_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
_WHITESPACE = b" \t\n\r\v\f"
_B64_CHARS = re.compile(rb"[A-Za-z0-9+/]*")


class AgeFormatError(ValueError):
    """Base of the format errors; ``kind`` matches the CCTV ``expect:`` words."""

    kind = "header failure"


class AgeHeaderError(AgeFormatError):
    kind = "header failure"


class AgeNoMatchError(AgeFormatError):
    kind = "no match"


class AgeHmacError(AgeFormatError):
    kind = "HMAC failure"


class AgePayloadError(AgeFormatError):
    kind = "payload failure"

    def __init__(self, message: str, released: bytes = b"") -> None:
        super().__init__(message)
        self.released = released


class AgeArmorError(AgeFormatError):
    kind = "armor failure"


class Stanza(FrozenRecord):
    """One recipient stanza: ``-> type args…`` and its binary body (immutable; a record to
    keep start-up cheap, docs/performance.md)."""

    __slots__ = ("args", "body", "type")
    _fields = ("type", "args", "body")

    type: str
    args: tuple[str, ...]
    body: bytes

    def __init__(self, type: str, args: tuple[str, ...], body: bytes) -> None:
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "body", body)


#: an unwrapper gets every stanza and returns the file key, None if none is addressed to
#: it or none opens, and raises AgeHeaderError for a malformed stanza addressed to it
Unwrapper = Callable[[Sequence[Stanza]], "bytes | None"]


# -- base64 ---------------------------------------------------------------------------------

def b64encode(data: bytes) -> str:
    """Unpadded standard base64 (age's encoding)."""
    return base64.b64encode(data).decode().rstrip("=")


def b64decode(text: str | bytes) -> bytes:
    """Canonical unpadded base64 or :class:`AgeHeaderError`."""
    raw = text.encode() if isinstance(text, str) else text
    if not _B64_CHARS.fullmatch(raw) or len(raw) % 4 == 1:
        raise AgeHeaderError("age: invalid base64")
    data = base64.b64decode(raw + b"=" * (-len(raw) % 4))
    if base64.b64encode(data).rstrip(b"=") != raw:
        raise AgeHeaderError("age: non-canonical base64")
    return data


# -- header ---------------------------------------------------------------------------------

def _sha256_class() -> Callable[[bytes], Any]:
    """CPython's own SHA-256. Neither the ``hmac`` module (hashlib loads OpenSSL's libcrypto a
    second time, ~3 ms) nor cryptography's ``hashes`` (it imports ``typing`` and ``enum``, ~8%)
    is loaded on a cold decrypt (docs/performance.md)."""
    try:
        from _sha256 import sha256
    except ImportError:  # other interpreters, and CPython >= 3.12 (whose module is _sha2)
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256  # type: ignore[no-any-return]


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-256 (RFC 2104). A test checks it against the ``hmac`` module and RFC 4231."""
    sha256 = _sha256_class()
    if len(key) > 64:
        key = sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = sha256(key.translate(_IPAD) + data).digest()
    return sha256(key.translate(_OPAD) + inner).digest()  # type: ignore[no-any-return]


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) with a 32-byte output: one extract, one expand block."""
    prk = _hmac_sha256(salt or bytes(32), ikm)
    return _hmac_sha256(prk, info + b"\x01")


def _header_mac(file_key: bytes, header_up_to_mac: bytes) -> bytes:
    return _hmac_sha256(_hkdf(file_key, b"", b"header"), header_up_to_mac)


def _header_mac_matches(file_key: bytes, header_up_to_mac: bytes, mac: bytes) -> bool:
    """Constant-time check of the header MAC (``_operator._compare_digest`` is what
    ``hmac.compare_digest`` is; the ``hmac`` module itself would import hashlib)."""
    from _operator import _compare_digest

    return bool(_compare_digest(_header_mac(file_key, header_up_to_mac), mac))


def _line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\n", pos)
    if end < 0:
        raise AgeHeaderError("age: header ends without a newline")
    return data[pos:end], end + 1


def _valid_arg(arg: bytes) -> bool:
    return bool(arg) and all(0x21 <= c <= 0x7E for c in arg)


def parse_header(data: bytes) -> tuple[list[Stanza], bytes, bytes, int]:
    """``(stanzas, header_up_to_mac, mac, payload_offset)``; raises AgeHeaderError."""
    if not data.startswith(_INTRO):
        raise AgeHeaderError("age: not an age file")
    version, pos = _line(data, 0)
    if version + b"\n" != VERSION_LINE:
        raise AgeHeaderError("age: unsupported age file version")
    stanzas: list[Stanza] = []
    while True:
        start = pos
        line, pos = _line(data, pos)
        if line.startswith(_MAC_PREFIX):
            if line[:4] != b"--- ":
                raise AgeHeaderError("age: malformed header MAC line")
            mac = b64decode(line[4:])
            if len(mac) != 32:
                raise AgeHeaderError("age: header MAC has the wrong length")
            if not stanzas:
                raise AgeHeaderError("age: header has no recipient stanza")
            return stanzas, data[: start + 3], mac, pos
        if not line.startswith(_STANZA_PREFIX):
            raise AgeHeaderError("age: malformed header line")
        args = line[len(_STANZA_PREFIX) :].split(b" ")
        if not all(_valid_arg(a) for a in args):
            raise AgeHeaderError("age: malformed stanza arguments")
        body = bytearray()
        while True:
            chunk, pos = _line(data, pos)
            if len(chunk) > _COLUMNS:
                raise AgeHeaderError("age: stanza body line longer than 64 columns")
            body += b64decode_line(chunk)
            if len(chunk) < _COLUMNS:
                break
        text_args = tuple(a.decode("ascii") for a in args)
        stanzas.append(Stanza(text_args[0], text_args[1:], bytes(body)))


def b64decode_line(chunk: bytes) -> bytes:
    """A stanza body line: full lines are 64 characters (48 bytes), so each decodes alone."""
    return b64decode(chunk) if chunk else b""


def _format_stanza(stanza: Stanza) -> bytes:
    encoded = b64encode(stanza.body)
    lines = [encoded[i : i + _COLUMNS] for i in range(0, len(encoded), _COLUMNS)]
    if not lines or len(lines[-1]) == _COLUMNS:
        lines.append("")
    head = " ".join(("->", stanza.type, *stanza.args))
    return (head + "\n" + "".join(line + "\n" for line in lines)).encode()


def format_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    """The header, MAC line included."""
    up_to_mac = VERSION_LINE + b"".join(_format_stanza(s) for s in stanzas) + _MAC_PREFIX
    mac = _header_mac(file_key, up_to_mac)
    return up_to_mac + b" " + b64encode(mac).encode() + b"\n"


# -- payload (STREAM) -----------------------------------------------------------------------

def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_payload(file_key: bytes, plaintext: bytes, *, nonce: bytes | None = None) -> bytes:
    from sopskit.format.aead import ChaCha20Poly1305

    nonce = os.urandom(_NONCE) if nonce is None else nonce
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i : i + _CHUNK] for i in range(0, len(plaintext), _CHUNK)] or [b""]
    out = [nonce]
    for counter, chunk in enumerate(chunks):
        out.append(aead.encrypt(_chunk_nonce(counter, counter == len(chunks) - 1), chunk, None))
    return b"".join(out)


def decrypt_payload(file_key: bytes, payload: bytes) -> bytes:
    """STREAM decryption as age's streaming reader does it, chunk by chunk.

    A full-size chunk is tried as a middle chunk, then as a full-size final chunk; a shorter
    one can only be final. A payload that ends after a middle chunk is truncated.
    """
    from sopskit.format.aead import ChaCha20Poly1305, failed_authentication

    if len(payload) < _NONCE:  # age reads the nonce with the header
        raise AgeHeaderError("age: payload nonce is missing or truncated")
    aead = ChaCha20Poly1305(_hkdf(file_key, payload[:_NONCE], b"payload"))
    rest = memoryview(payload)[_NONCE:]
    released = bytearray()
    counter = 0
    size = _CHUNK + _TAG
    while True:
        if not len(rest):
            raise AgePayloadError("age: payload is truncated (no final chunk)", bytes(released))
        chunk = bytes(rest[:size])
        rest = rest[len(chunk) :]
        last = len(chunk) < size
        if last and counter > 0 and len(chunk) == _TAG:
            raise AgePayloadError("age: final payload chunk is empty", bytes(released))
        plain: bytes | None = None
        try:
            plain = aead.decrypt(_chunk_nonce(counter, last), chunk, None)
        except Exception as exc:
            if not failed_authentication(exc):
                raise
            if not last:  # maybe a full-size final chunk
                try:
                    plain = aead.decrypt(_chunk_nonce(counter, True), chunk, None)
                    last = True
                except Exception as final_exc:
                    if not failed_authentication(final_exc):
                        raise
        if plain is None:
            raise AgePayloadError("age: payload chunk does not authenticate", bytes(released))
        released += plain
        counter += 1
        if last:
            if len(rest):
                raise AgePayloadError("age: trailing data after the final payload chunk", bytes(released))
            return bytes(released)


# -- whole files ----------------------------------------------------------------------------

def encrypt(file_key: bytes, stanzas: Sequence[Stanza], plaintext: bytes) -> bytes:
    """A binary age file for ``stanzas`` (which already wrap ``file_key``)."""
    return format_header(stanzas, file_key) + encrypt_payload(file_key, plaintext)


def unwrap_first(
    stanzas: Sequence[Stanza],
    stanza_type: str,
    *,
    share_name: str,
    share_size: int,
    body_size: int,
    open_body: Callable[[bytes, bytes], bytes | None],
) -> bytes | None:
    """The file key from the first ``stanza_type`` stanza that ``open_body(share, body)`` opens.

    The native recipient types (X25519, mlkem768x25519) share this shape: one base64
    argument (the ephemeral share or encapsulated key) and a sealed file key as the body.
    Other stanza types are skipped; a malformed stanza of our type is a header error, as in
    age, checked before any key work. ``open_body`` returns ``None`` for a stanza addressed
    to another recipient and raises :class:`AgeHeaderError` for one that is invalid.
    """
    for stanza in stanzas:
        if stanza.type != stanza_type:
            continue
        if len(stanza.args) != 1:
            raise AgeHeaderError(f"age: {stanza_type} stanza needs exactly one argument")
        share = b64decode(stanza.args[0])
        if len(share) != share_size:
            raise AgeHeaderError(f"age: {stanza_type} {share_name} is not {share_size} bytes")
        if len(stanza.body) != body_size:
            raise AgeHeaderError(f"age: {stanza_type} stanza body is not {body_size} bytes")
        file_key = open_body(share, stanza.body)
        if file_key is not None:
            return file_key
    return None


def new_file_key() -> bytes:
    return os.urandom(FILE_KEY_SIZE)


def decrypt(data: bytes, unwrappers: Sequence[Unwrapper]) -> bytes:
    """Decrypt a binary age file with the first unwrapper that yields the file key."""
    stanzas, up_to_mac, mac, offset = parse_header(data)
    file_key = None
    for unwrap in unwrappers:
        file_key = unwrap(stanzas)
        if file_key is not None:
            break
    if file_key is None:
        raise AgeNoMatchError("age: no identity matched any of the recipients")
    if len(file_key) != FILE_KEY_SIZE:
        raise AgeHeaderError("age: unwrapped file key has the wrong size")
    if not _header_mac_matches(file_key, up_to_mac, mac):
        raise AgeHmacError("age: header MAC mismatch")
    return decrypt_payload(file_key, data[offset:])


# -- ASCII armour (strict, as age's armor.Reader) -------------------------------------------

def armor(binary: bytes) -> str:
    encoded = base64.b64encode(binary).decode()
    lines = [encoded[i : i + _COLUMNS] for i in range(0, len(encoded), _COLUMNS)]
    return "\n".join([_ARMOR_BEGIN.decode(), *lines, _ARMOR_END.decode()]) + "\n"


def is_armored(data: bytes) -> bool:
    return data.lstrip(_WHITESPACE).startswith(_ARMOR_BEGIN)


def dearmor(data: bytes) -> bytes:
    """The binary inside a PEM armour; whitespace around the block and CRLF line ends are
    allowed, anything else that is not canonical is an :class:`AgeArmorError`."""
    body = data.strip(_WHITESPACE)
    lines = body.replace(b"\r\n", b"\n").split(b"\n")
    if len(lines) < 2 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise AgeArmorError("age: missing or malformed armor header or footer")
    inner = lines[1:-1]
    for index, line in enumerate(inner):
        final = index == len(inner) - 1
        if len(line) > _COLUMNS or (not final and len(line) != _COLUMNS) or not line:
            raise AgeArmorError("age: armored line has the wrong length")
        if not final and b"=" in line:
            raise AgeArmorError("age: armor padding before the last line")
    joined = b"".join(inner)
    try:
        decoded = base64.b64decode(joined, validate=True)
    except (binascii.Error, ValueError):
        raise AgeArmorError("age: armor is not valid base64") from None
    if base64.b64encode(decoded) != joined:
        raise AgeArmorError("age: armor base64 is not canonical")
    return decoded


def dearmor_age(text: str | bytes) -> bytes:
    """The binary age file inside a SOPS ``enc`` field, read as strictly as age's armour reader.

    Unarmoured (binary) age files pass through unchanged. Here rather than in ``keys.age``
    so that ``keys.identities`` (passphrase-protected identity files) and ``keys.age`` both
    import it without importing each other.
    """
    try:
        data = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:  # undecodable bytes a store kept as surrogates
        raise FormatError("age: the encrypted data key is not a well-formed armoured age file") from None
    if data.lstrip().startswith(b"age-encryption.org/"):
        return data
    try:
        return dearmor(data)
    except AgeArmorError as exc:
        raise FormatError(f"{exc} (the encrypted data key is not a well-formed armoured age file)") from None
