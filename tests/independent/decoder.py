"""A deliberately small second SOPS decoder, sharing no code with sopskit.

It exists to check what sopskit writes along an independent path: the data key comes out
of the real `age` / `gpg` commands, Shamir shares are combined with a textbook Lagrange
interpolation, values are opened with AES-GCM directly, and the MAC is recomputed from the
parsed values. It handles the shapes the tests write (no YAML comments), nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from decimal import Decimal
from typing import Any

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENC = re.compile(r"^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$")


def age_unwrap(armored: str, identity_file: str) -> bytes:
    return subprocess.run(["age", "-d", "-i", identity_file], input=armored.encode(),
                          capture_output=True, check=True).stdout


def gpg_unwrap(armored: str, gnupghome: str) -> bytes:
    env = {**os.environ, "GNUPGHOME": gnupghome}
    return subprocess.run(["gpg", "--batch", "--quiet", "-d"], input=armored.encode(), env=env,
                          capture_output=True, check=True).stdout


def _mul(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def _inv(a: int) -> int:
    # a^254 is the inverse in GF(2^8)
    r, e = 1, 254
    while e:
        if e & 1:
            r = _mul(r, a)
        a = _mul(a, a)
        e >>= 1
    return r


def shamir_combine(shares: list[bytes]) -> bytes:
    xs = [s[-1] for s in shares]
    out = bytearray()
    for i in range(len(shares[0]) - 1):
        acc = 0
        for j, xj in enumerate(xs):
            num, den = 1, 1
            for m, xm in enumerate(xs):
                if m != j:
                    num = _mul(num, xm)
                    den = _mul(den, xm ^ xj)
            acc ^= _mul(shares[j][i], _mul(num, _inv(den)))
        out.append(acc)
    return bytes(out)


def _go_float(v: float) -> str:
    s = format(Decimal(repr(v)), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _to_bytes(v: Any) -> bytes:
    if isinstance(v, bool):
        return b"True" if v else b"False"
    if isinstance(v, int):
        return str(v).encode("utf-8", "surrogateescape")
    if isinstance(v, float):
        return _go_float(v).encode()
    return str(v).encode("utf-8", "surrogateescape")


def open_value(text: str, key: bytes, aad: str) -> Any:
    m = ENC.match(text)
    assert m, "not an ENC value"
    data, iv, tag = (base64.b64decode(m.group(i)) for i in (1, 2, 3))
    plain = AESGCM(key).decrypt(iv, data + tag, aad.encode()).decode("utf-8", "surrogateescape")
    kind = m.group(4)
    return {"str": lambda s: s, "int": int, "float": float, "bool": lambda s: s == "True",
            "comment": lambda s: s}[kind](plain)


def decode_tree(tree: dict[str, Any], key: bytes, encrypted_path: Any = None) -> tuple[dict[str, Any], str]:
    """Decrypt every ENC string in a plain dict tree; return (tree, MAC hex over values)."""
    digest = hashlib.sha512()

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, [*path, k]) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, path) for v in node]
        if node is None:
            return None
        value = node
        if isinstance(node, str) and node.startswith("ENC["):
            value = open_value(node, key, "".join(p + ":" for p in path))
        if node != "" or value != "":
            digest.update(_to_bytes(value))
        return value

    return walk(tree, []), digest.hexdigest().upper()


def data_key_from_metadata(sops: dict[str, Any], *, age_identity_file: str | None = None,
                           gnupghome: str | None = None) -> bytes:
    """Unwrap every group with the peer tools; combine with Shamir when there are several."""
    groups = sops.get("key_groups") or [sops]
    parts = []
    for group in groups:
        part = None
        for entry in group.get("age") or []:
            if age_identity_file:
                try:
                    part = age_unwrap(entry["enc"], age_identity_file)
                    break
                except subprocess.CalledProcessError:
                    continue
        if part is None:
            for entry in group.get("pgp") or []:
                if gnupghome:
                    try:
                        part = gpg_unwrap(entry["enc"], gnupghome)
                        break
                    except subprocess.CalledProcessError:
                        continue
        if part is not None:
            parts.append(part)
    if len(groups) == 1:
        return parts[0]
    return shamir_combine(parts)


def load_any(data: bytes, fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a SOPS file into (data tree, sops metadata) for yaml/json/binary/dotenv/ini."""
    if fmt in ("json", "binary"):
        doc = json.loads(data)
    elif fmt == "yaml":
        doc = yaml.safe_load(data)
    elif fmt == "dotenv":
        doc = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                doc[k] = v.replace("\\n", "\n")
        meta = {k[5:]: v for k, v in doc.items() if k.startswith("sops_")}
        doc = {k: v for k, v in doc.items() if not k.startswith("sops_")}
        return doc, _unflatten(meta)
    elif fmt == "ini":
        doc, section = {}, None
        for line in data.decode().splitlines():
            line = line.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("["):
                section = line[1:-1]
                doc[section] = {}
                continue
            k, _, v = line.partition("=")
            doc[section][k.strip()] = v.strip().replace("\\n", "\n")
        meta = doc.pop("sops")
        return doc, _unflatten(meta)
    else:
        raise ValueError(fmt)
    meta = doc.pop("sops")
    return doc, meta


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.split(r"__(map|list)_", key)
        node: Any = root
        name: Any = parts[0]
        for kind, nxt in zip(parts[1::2], parts[2::2], strict=True):
            child: Any = [] if kind == "list" else {}
            if isinstance(node, list):
                while len(node) <= name:
                    node.append(None)
                node[name] = node[name] if node[name] is not None else child
                node = node[name]
            else:
                node = node.setdefault(name, child)
            name = int(nxt) if kind == "list" else nxt
        if isinstance(node, list):
            while len(node) <= name:
                node.append(None)
            node[name] = value
        else:
            node[name] = value
    return root


def verify_mac(meta: dict[str, Any], key: bytes, computed: str) -> bool:
    stamp = str(meta["lastmodified"])
    return bool(open_value(meta["mac"], key, stamp) == computed)
