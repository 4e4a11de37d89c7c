"""The key leak: every SOPS file version, in every ref, that a leaked master key opens.

The match needs no decryption: a SOPS file names its recipients in its metadata (``age``
recipients, PGP fingerprints), so every blob in the object store is checked once. Git keeps
old ciphertexts, so the exposure set is every version ever wrapped for the key, not only HEAD.

A version *not* wrapped for the key is still exposed when it shares the data key with one
that is: ``updatekeys`` (and ``cluster init --force``) re-wraps the same data key, so whoever
holds the leaked key unwraps it from the old version and reads the new one. That is detected
(a) without any key, by ciphertext the two versions share (``updatekeys`` keeps values, IVs
and MAC byte-identical; unchanged values keep theirs across edits), and (b) when an identity
is given, by checking the version's MAC under every data key the leaked identity unwraps.

For each exposed version, the Kubernetes Secrets it defines (kind, namespace, name, data
keys; all plaintext in a SOPS manifest) are listed: their values must be treated as exposed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit import gitio
from sopskit.errors import InputError, SopsError
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.format.recognize import ENC_VALUE_RE, has_sops_metadata
from sopskit.format.tree import to_plain
from sopskit.keys.base import KeyContext
from sopskit.ops.pool import DEFAULT_WORKERS, run_bounded

FULL, SHARE, SAME_DATA_KEY = "full", "share", "same-data-key"
#: a version whose metadata names the key but that sopskit could not read
NAMES_KEY = "names-key"


@dataclass
class LeakedKey:
    """The leaked key as public identifiers; ``identities`` (secrets) only when given."""

    age: list[str] = field(default_factory=list)
    pgp: list[str] = field(default_factory=list)  # fingerprints, upper-case
    identities: list[str] = field(default_factory=list, repr=False)

    def describe(self) -> list[str]:
        return [*self.age, *(f"pgp:{fp}" for fp in self.pgp)]

    def opens(self, record: KeyRecord) -> bool:
        if record.key_type == "age":
            return str(record.fields.get("recipient", "")).strip() in self.age
        if record.key_type == "pgp":
            fp = "".join(str(record.fields.get("fp", "")).split()).upper().removeprefix("0X").rstrip("!")
            return any(full.endswith(fp) or fp.endswith(full) for full in self.pgp if fp)
        return False


def _pgp_fingerprints(armored: str, *, gpg: str = "gpg") -> list[str]:
    """Fingerprints of the keys in an armoured key block, without importing it anywhere."""
    try:
        proc = subprocess.run([gpg, "--batch", "--with-colons", "--import-options", "show-only",
                               "--import"], input=armored.encode(), capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("gpg is not installed: cannot read a PGP key") from None
    fps = [line.split(":")[9] for line in proc.stdout.decode("utf-8", "replace").splitlines()
           if line.startswith("fpr:")]
    if not fps:
        raise InputError("the PGP key block could not be read")
    return [fps[0].upper()]


def leaked_from_text(text: str) -> LeakedKey:
    """Identities or public keys as given on stdin / ``--public`` (one or several)."""
    from sopskit.keys.age import public_key_of

    key = LeakedKey()
    if "-----BEGIN PGP" in text:
        key.pgp = _pgp_fingerprints(text)
        return key
    if "PRIVATE KEY-----" in text and "AGE-SECRET-KEY" not in text:
        try:
            key.age.append(public_key_of(text))
        except (SopsError, ValueError):
            raise InputError("the SSH private key on stdin cannot be read (encrypted or malformed)") from None
        key.identities.append(text)
        return key
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("AGE-SECRET-KEY-1"):
            try:
                key.age.append(public_key_of(line))
            except (SopsError, ValueError):
                raise InputError("an age identity on stdin is malformed") from None
            key.identities.append(line)
        elif line.startswith(("age1", "ssh-")):
            _check_recipient(line)
            key.age.append(line)
        else:
            fp = "".join(line.split()).upper().removeprefix("0X")
            if not all(c in "0123456789ABCDEF" for c in fp) or len(fp) < 16:
                raise InputError("not an age identity, age recipient, SSH public key or PGP fingerprint")
            key.pgp.append(fp)
    if not key.age and not key.pgp:
        raise InputError("no key was given")
    return key


def _check_recipient(line: str) -> None:
    """A malformed public key is an error (exit 2), not "nothing is exposed" (exit 0)."""
    from sopskit.keys.age import AgeKey

    try:
        AgeKey(line)
    except SopsError:
        raise InputError("not a valid age recipient or SSH public key (check for a truncated copy)") from None


@dataclass
class SecretInfo:
    kind: str | None
    namespace: str | None
    name: str | None
    keys: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "keys": self.keys}


@dataclass
class Exposure:
    repo: str
    path: str | None
    blob: str
    commits: list[str]
    refs: list[str]
    reason: str  # full, share (one Shamir share), same-data-key
    secrets: list[SecretInfo]
    paths: list[str] = field(default_factory=list)
    where: str = gitio.HISTORY

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "path": self.path, "blob": self.blob, "commits": self.commits,
                "refs": self.refs, "reason": self.reason, "where": self.where, "paths": self.paths,
                # always the shape: nulls and no keys when the version could not be read
                "secret": (self.secrets[0] if self.secrets else SecretInfo(None, None, None, [])).to_dict(),
                "secrets": [s.to_dict() for s in self.secrets]}


def secrets_in(branches: Sequence[Any]) -> list[SecretInfo]:
    """The Kubernetes objects a SOPS manifest defines, with their (plaintext) data keys."""
    out: list[SecretInfo] = []
    for branch in branches:
        doc = to_plain(branch)
        if not isinstance(doc, dict):
            continue
        doc.pop("sops", None)
        if "kind" in doc:
            meta_raw = doc.get("metadata")
            meta: dict[str, Any] = meta_raw if isinstance(meta_raw, dict) else {}
            keys = sorted({str(k) for sect in ("data", "stringData") if isinstance(doc.get(sect), dict)
                           for k in doc[sect]})
            out.append(SecretInfo(str(doc["kind"]), _opt(meta.get("namespace")), _opt(meta.get("name")), keys))
        else:
            out.append(SecretInfo(None, None, None, sorted(str(k) for k in doc)))
    return out


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _names_key(data: bytes, key: LeakedKey) -> bool:
    """Whether raw SOPS bytes name one of the leaked keys (age recipient or PGP fingerprint)."""
    upper = data.upper()
    return any(r.encode() in data for r in key.age) or any(fp.encode() in upper for fp in key.pgp)


def _opens(metadata: Metadata, key: LeakedKey) -> str | None:
    groups = metadata.key_groups
    hit = [any(key.opens(r) for r in g) for g in groups]
    if not any(hit):
        return None
    needed = (metadata.shamir_threshold or len(groups)) if len(groups) > 1 else 1
    return FULL if sum(hit) >= needed else SHARE


@dataclass
class KeyLeakResult:
    key: list[str]
    exposed: list[Exposure] = field(default_factory=list)
    sops_versions: int = 0
    errors: list[str] = field(default_factory=list)
    same_data_key: int = 0

    def per_ref(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.exposed:
            for r in e.refs:
                counts[r] = counts.get(r, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "exposed": [e.to_dict() for e in self.exposed], "per_ref": self.per_ref(),
                "sops_versions": self.sops_versions, "errors": self.errors}


def _leaked_records_only(metadata: Metadata, key: LeakedKey) -> Metadata:
    """The version's metadata with only the age records the leaked key opens: the data key
    is recovered with the leaked identity alone, never by another key (a cloud KMS reached
    with the responder's own credentials, once per version)."""
    groups = [[r for r in g if r.key_type == "age" and key.opens(r)] for g in metadata.key_groups]
    return metadata.replace(key_groups=groups)


def exposure_in_repo(repo: Path, key: LeakedKey, *, workers: int = DEFAULT_WORKERS) -> KeyLeakResult:
    """Every SOPS blob in ``repo`` that ``key`` opens, directly or through a shared data key."""
    from sopskit.format.codec import ValueCipher
    from sopskit.ops.document import recover_key
    from sopskit.ops.sopsfile import parse_encrypted

    gitio.require_repo(repo)
    result = KeyLeakResult(key.describe())
    parsed: dict[str, tuple[list[Any], Metadata, set[bytes]]] = {}
    direct: dict[str, str] = {}
    unreadable: dict[str, str] = {}  # oid -> why it could not be read (it names the key)
    for oid, data in gitio.stream_blobs(repo):
        if b"sops" not in data or not has_sops_metadata(data):
            continue
        try:
            branches, metadata = parse_encrypted(data)
        except SopsError as exc:
            # a version sopskit cannot read is still wrapped for whatever its metadata names:
            # never drop it silently, and count it exposed when it names the leaked key
            if _names_key(data, key):
                unreadable[oid] = exc.message
            continue
        result.sops_versions += 1
        parsed[oid] = (branches, metadata, {m.group().encode() for m in ENC_VALUE_RE.finditer(data.decode(
            "utf-8", "replace"))})
        how = _opens(metadata, key)
        if how:
            direct[oid] = how
    exposed = dict(direct)
    shared = set().union(*(parsed[o][2] for o in direct)) if direct else set()
    data_keys: list[bytes] = []
    if key.identities:
        context = KeyContext(age_identities=list(key.identities), env={})

        def unwrap(oid: str) -> bytes | None:
            try:
                return recover_key(_leaked_records_only(parsed[oid][1], key), context=context)
            except SopsError:
                return None

        # each version's data key once, on the shared bounded pool
        full = [oid for oid, how in direct.items() if how == FULL]
        for dk in run_bounded(full, unwrap, workers=workers):
            if dk is not None and dk not in data_keys:
                data_keys.append(dk)
    for oid, (_branches, metadata, encs) in parsed.items():
        if oid in exposed:
            continue
        if encs & shared:
            exposed[oid] = SAME_DATA_KEY
            continue
        for dk in data_keys:
            try:
                ValueCipher(dk, rng=os.urandom).decrypt(metadata.mac, metadata.mac_aad())
            except (SopsError, ValueError):
                continue
            exposed[oid] = SAME_DATA_KEY
            break
    for oid in unreadable:
        exposed[oid] = NAMES_KEY  # reason "names-key": its Secrets are unknown
    if not exposed:
        return result
    mapped = gitio.map_repository(repo)
    for oid, how in exposed.items():
        place = mapped.place(oid)
        result.exposed.append(Exposure(
            str(repo), place.paths[0] if place.paths else None, oid, [c.sha for c in place.commits],
            list(place.refs), how, secrets_in(parsed[oid][0]) if oid in parsed else [], list(place.paths),
            place.where))
        if how == SAME_DATA_KEY:
            result.same_data_key += 1
    result.exposed.sort(key=lambda e: (e.path or "", e.blob))
    return result


def exposure(repos: Sequence[Path], key: LeakedKey, *, workers: int = DEFAULT_WORKERS) -> KeyLeakResult:
    total = KeyLeakResult(key.describe())
    for repo in repos:
        try:
            part = exposure_in_repo(repo, key, workers=workers)
        except SopsError as exc:
            total.errors.append(exc.message)
            continue
        total.exposed.extend(part.exposed)
        total.sops_versions += part.sops_versions
        total.same_data_key += part.same_data_key
    return total


__all__ = ["Exposure", "KeyLeakResult", "LeakedKey", "SecretInfo", "exposure", "leaked_from_text", "secrets_in"]
