"""The floor of a cold Python decrypt: the least a CPython process must do to decrypt the
cold-start bench's file (``bench/engine.py --cold-only``), run by that bench as its own row.

Usage: ``SOPS_AGE_KEY=AGE-SECRET-KEY-1... python bench/cold_floor.py FILE`` prints the
plaintext YAML of a flat, sops-written, age-encrypted YAML file to stdout.

Why it exists: issue 9 asks for a cold ``sopskit decrypt`` faster than the Go sops binary.
This script is not sopskit and must never become it: it imports nothing but cryptography's
Rust bindings, ``binascii`` and CPython's SHA-256; it reads YAML line by line, handles only
plain ``key: value`` lines indented by four spaces (what the bench writes), one X25519 age
stanza, and it checks neither the file's MAC nor its metadata, gives no error messages and
keeps no comments. Whatever a real decrypt adds (a YAML parser, key discovery, ``.sops.yaml``,
the MAC, the error hierarchy) comes on top of this figure, so when this row is as slow as Go,
a general sopskit is slower than Go on this interpreter and machine, whatever it trims.
"""

import os
import sys
from _sha256 import sha256
from binascii import a2b_base64

from cryptography.hazmat.bindings._rust import openssl

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    key = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return _hmac_sha256(_hmac_sha256(salt, secret), info + b"\x01")


def _bech32_data(text: str) -> bytes:
    words = text.lower()
    words = words[words.rfind("1") + 1:-6]
    acc = bits = 0
    out = bytearray()
    for char in words:
        acc = (acc << 5) | _BECH32.index(char)
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    return bytes(out)


def _b64(text: bytes) -> bytes:
    return a2b_base64(text + b"=" * (-len(text) % 4))


def _data_key(lines: list[str], identity: str) -> bytes:
    """The file's data key from its one X25519 age stanza."""
    begin = next(i for i, line in enumerate(lines) if "BEGIN AGE ENCRYPTED FILE" in line)
    end = next(i for i, line in enumerate(lines) if "END AGE ENCRYPTED FILE" in line)
    blob = a2b_base64("".join(line.strip() for line in lines[begin + 1:end]))
    header_end = blob.index(b"\n---")
    header = blob[:header_end].split(b"\n")
    at = next(i for i, line in enumerate(header) if line.startswith(b"-> X25519 "))
    share, body = _b64(header[at].split()[2]), _b64(header[at + 1])
    private = openssl.x25519.from_private_bytes(_bech32_data(identity))
    public = private.public_key().public_bytes_raw()
    secret = private.exchange(openssl.x25519.from_public_bytes(share))
    wrap = _hkdf(secret, share + public, b"age-encryption.org/v1/X25519")
    file_key = openssl.aead.ChaCha20Poly1305(wrap).decrypt(bytes(12), body, None)
    payload = blob[blob.index(b"\n", header_end + 1) + 1:]
    stream_key = _hkdf(file_key, payload[:16], b"payload")
    data_key: bytes = openssl.aead.ChaCha20Poly1305(stream_key).decrypt(bytes(11) + b"\x01", payload[16:], None)
    return data_key


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    cipher = openssl.aead.AESGCM(_data_key(lines, os.environ["SOPS_AGE_KEY"]))
    out, path = [], []
    for line in lines:
        if line.startswith("sops:"):
            break
        if not line:
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, _, value = line.strip().partition(": ")
        key = key.rstrip(":")
        path[indent // 4:] = [key]
        if value.startswith("ENC["):
            fields = dict(part.split(":", 1) for part in value[4:-1].split(",")[1:])
            plain = cipher.decrypt(a2b_base64(fields["iv"]), a2b_base64(fields["data"]) + a2b_base64(fields["tag"]),
                                   (":".join(path) + ":").encode())
            value = plain.decode()
        out.append(f"{' ' * indent}{key}: {value}" if value else line)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
