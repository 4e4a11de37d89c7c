"""Ways to break an encrypted file, each a pure ``bytes -> bytes`` function per store.

Structured stores (yaml, json, and binary, which is JSON on disk) are parsed and the
``sops`` block or values are changed as data; the flat stores (dotenv, ini) keep metadata as
``sops_key=value`` lines / a ``[sops]`` section, so they are edited line by line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

ENC = re.compile(rb"ENC\[AES256_GCM,[^\]\n\"]*\]")
Mutation = Callable[[bytes], bytes]


# -- structured (yaml/json/binary) ----------------------------------------------------------

def _load(store: str, data: bytes) -> Any:
    return yaml.safe_load(data) if store == "yaml" else json.loads(data)


def _dump(store: str, doc: Any) -> bytes:
    if store == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    return json.dumps(doc, indent=2).encode()


def _on_doc(store: str, change: Callable[[dict[str, Any]], object]) -> Mutation:
    def mutate(data: bytes) -> bytes:
        doc = _load(store, data)
        result = change(doc)
        return _dump(store, doc if result is None else result)
    return mutate


def _meta(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: change(doc["sops"])


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return _meta(lambda m: m.__setitem__(key, value))


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return _meta(lambda m: m.pop(key, None))


def _age0(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return _meta(lambda m: m["age"][0].__setitem__(key, value))


STRUCTURED: dict[str, Callable[[dict[str, Any]], object]] = {
    "no-sops-block": lambda doc: doc.pop("sops"),
    "sops-block-is-list": lambda doc: doc.__setitem__("sops", [1, 2]),
    "sops-block-is-string": lambda doc: doc.__setitem__("sops", "x"),
    "sops-block-is-null": lambda doc: doc.__setitem__("sops", None),
    "no-mac": _delete("mac"),
    "mac-is-list": _set("mac", ["a", "b"]),
    "mac-is-int": _set("mac", 7),
    "mac-is-empty": _set("mac", ""),
    "mac-is-garbage": _set("mac", "ENC[AES256_GCM,data:@@@,iv:!!,tag:??,type:str]"),
    "no-lastmodified": _delete("lastmodified"),
    "lastmodified-is-int": _set("lastmodified", 1700000000),
    "lastmodified-is-garbage": _set("lastmodified", "yesterday"),
    "lastmodified-is-list": _set("lastmodified", []),
    "no-version": _delete("version"),
    "version-is-list": _set("version", [3]),
    "version-is-float": _set("version", 3.7),
    "no-age": _delete("age"),
    "age-is-string": _set("age", "age1xyz"),
    "age-is-dict": _set("age", {"enc": "x"}),
    "age-entry-is-string": _set("age", ["x"]),
    "age-entry-is-null": _set("age", [None]),
    "age-enc-is-garbage": _age0("enc", "-----BEGIN AGE ENCRYPTED FILE-----\nnope\n-----END AGE ENCRYPTED FILE-----\n"),
    "age-enc-is-int": _age0("enc", 12),
    "age-enc-missing": _meta(lambda m: m["age"][0].pop("enc")),
    "age-recipient-is-int": _age0("recipient", 5),
    "age-recipient-is-garbage": _age0("recipient", "age1notarecipient"),
    "shamir-threshold-is-x": _set("shamir_threshold", "x"),
    "shamir-threshold-not-met": _set("shamir_threshold", 5),
    "shamir-threshold-negative": _set("shamir_threshold", -1),
    "key-groups-is-string": _set("key_groups", "x"),
    "key-groups-entry-garbage": _set("key_groups", [{"age": 3}]),
    "pgp-is-int": _set("pgp", 3),
    "kms-entry-garbage": _set("kms", [{"arn": 1}]),
    "encrypted-regex-invalid": _set("encrypted_regex", "("),
    "unencrypted-suffix-is-list": _set("unencrypted_suffix", ["x"]),
    "two-selection-rules": _set("encrypted_suffix", "_enc"),
    "mac-only-encrypted-is-string": _set("mac_only_encrypted", "maybe"),
    "unknown-metadata-key": _set("zzz_unknown", {"deep": [1]}),
    "document-is-list": lambda doc: [doc],
    "document-is-scalar": lambda doc: "just a string",
}


def structured(store: str, name: str) -> Mutation:
    return _on_doc(store, STRUCTURED[name])


# -- flat (dotenv/ini) ----------------------------------------------------------------------

def _flat_edit(store: str, key: str, value: str | None) -> Mutation:
    """Replace (or with None delete) the metadata line ``key``; add it when it is absent."""
    def mutate(data: bytes) -> bytes:
        lines = data.decode().split("\n")
        if store == "dotenv":
            pattern = re.compile(rf"^sops_{re.escape(key)}=")
            new = f"sops_{key}={value}"
        else:
            pattern = re.compile(rf"^{re.escape(key)}\s*=")
            new = f"{key} = {value}"
        hits = [i for i, line in enumerate(lines) if pattern.match(line)]
        if value is None:
            lines = [line for i, line in enumerate(lines) if i not in hits]
        elif hits:
            lines[hits[0]] = new
        else:
            anchor = next(i for i, line in enumerate(lines)
                          if line.startswith(("sops_version", "version")))
            lines.insert(anchor, new)
        return "\n".join(lines).encode()
    return mutate


FLAT: dict[str, tuple[str, str | None]] = {
    "no-mac": ("mac", None),
    "mac-is-list": ("mac", "[a, b]"),
    "mac-is-empty": ("mac", ""),
    "mac-is-garbage": ("mac", "ENC[AES256_GCM,data:@@@,iv:!!,tag:??,type:str]"),
    "no-lastmodified": ("lastmodified", None),
    "lastmodified-is-int": ("lastmodified", "1700000000"),
    "lastmodified-is-garbage": ("lastmodified", "yesterday"),
    "no-version": ("version", None),
    "no-age": ("age__list_0__map_enc", None),
    "age-enc-is-garbage": ("age__list_0__map_enc", "-----BEGIN AGE ENCRYPTED FILE-----\\nno\\n-----END AGE"),
    "age-recipient-is-garbage": ("age__list_0__map_recipient", "age1notarecipient"),
    "age-index-gap": ("age__list_7__map_enc", "x"),
    "shamir-threshold-is-x": ("shamir_threshold", "x"),
    "shamir-threshold-not-met": ("shamir_threshold", "5"),
    "encrypted-regex-invalid": ("encrypted_regex", "("),
    "two-selection-rules": ("encrypted_suffix", "_enc"),
    "mac-only-encrypted-is-string": ("mac_only_encrypted", "maybe"),
    "weird-flattened-key": ("age__map_", "x"),
}


def flat(store: str, name: str) -> Mutation:
    key, value = FLAT[name]
    return _flat_edit(store, key, value)


def metadata_mutations(store: str) -> list[str]:
    return sorted(FLAT) if store in ("dotenv", "ini") else sorted(STRUCTURED)


def metadata_mutation(store: str, name: str) -> Mutation:
    return flat(store, name) if store in ("dotenv", "ini") else structured(store, name)


# -- values and raw bytes (every store) -----------------------------------------------------

def _nth_enc(data: bytes, n: int) -> re.Match[bytes]:
    return list(ENC.finditer(data))[n]


def _replace_enc(n: int, change: Callable[[bytes], bytes]) -> Mutation:
    def mutate(data: bytes) -> bytes:
        m = _nth_enc(data, n)
        return data[:m.start()] + change(m.group()) + data[m.end():]
    return mutate


def _flip_data_char(enc: bytes) -> bytes:
    start = enc.index(b"data:") + 5
    char = enc[start:start + 1]
    return enc[:start] + (b"B" if char != b"B" else b"C") + enc[start + 1:]


def _swap_first_two(data: bytes) -> bytes:
    first, second = _nth_enc(data, 0), _nth_enc(data, 1)
    return (data[:first.start()] + second.group() + data[first.end():second.start()]
            + first.group() + data[second.end():])


VALUES: dict[str, Mutation] = {
    "value-data-flipped": _replace_enc(0, _flip_data_char),
    "value-type-int": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:int")),
    "value-type-bool": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:bool")),
    "value-type-float": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:float")),
    "value-type-bytes": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:bytes")),
    "value-type-comment": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:comment")),
    "value-type-unknown": _replace_enc(0, lambda e: e.replace(b"type:str", b"type:zz")),
    "value-no-tag": _replace_enc(0, lambda e: re.sub(rb",tag:[^,]*", b"", e)),
    "value-short-iv": _replace_enc(0, lambda e: re.sub(rb"iv:[^,]*", b"iv:AAAA", e)),
    "value-bad-base64": _replace_enc(0, lambda e: e.replace(b"data:", b"data:%%%")),
    "value-empty-fields": _replace_enc(0, lambda e: b"ENC[AES256_GCM,data:,iv:,tag:,type:str]"),
    "value-unclosed": _replace_enc(0, lambda e: e[:-1].replace(b"ENC[AES256_GCM,", b"ENC[AES256_GCM,,")),
    "values-swapped": _swap_first_two,
    "mac-flipped": lambda d: _replace_enc(len(ENC.findall(d)) - 1, _flip_data_char)(d),
}

RAW: dict[str, Mutation] = {
    "empty": lambda d: b"",
    "only-newline": lambda d: b"\n",
    "nul-in-middle": lambda d: d[: len(d) // 2] + b"\x00" + d[len(d) // 2:],
    "binary-garbage": lambda d: bytes(range(256)) * 8,
    "invalid-utf8": lambda d: d[: len(d) // 3] + b"\xff\xfe\xc3" + d[len(d) // 3:],
    "utf8-bom": lambda d: b"\xef\xbb\xbf" + d,
    "utf16": lambda d: d.decode().encode("utf-16"),
    "crlf": lambda d: d.replace(b"\n", b"\r\n"),
    "huge-line": lambda d: b"x" * 2_000_000 + b"\n" + d,
    "odd-unicode-key": lambda d: d.replace(b"sops", "s\u202eops\u0301".encode(), 1),
    "first-line-duplicated": lambda d: d.split(b"\n", 1)[0] + b"\n" + d,
    "second-half-only": lambda d: d[len(d) // 2:],
}


def truncations(data: bytes) -> list[bytes]:
    """The file cut after each of its lines (the intact file excluded)."""
    cuts = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    return [data[:cut] for cut in [0, *cuts] if cut < len(data.rstrip(b"\n"))]
