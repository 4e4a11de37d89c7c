"""Small pieces: key parsing and matching, Shamir shares, SOPS files of every store opened in memory."""

from __future__ import annotations

import pytest

from sopskit.errors import InputError
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.keys.age import generate_identity
from sopskit.keys.base import KeyContext
from sopskit.leak.keyleak import FULL, SHARE, _opens, leaked_from_text
from sopskit.leak.probe import KeyedProbe, ValueProbe, new_incident_key
from sopskit.leak.search import SopsOpener
from sopskit.ops.encrypt import encrypt
from tests.leak.builder import make_value


def test_leaked_key_parsing_and_matching() -> None:
    identity, recipient = generate_identity()
    key = leaked_from_text(f"# created: today\n{identity}\n")
    assert key.age == [recipient] and key.identities == [identity]
    assert identity not in repr(key)
    pub = leaked_from_text("0x" + "ab" * 20)
    assert pub.pgp == ["AB" * 20]
    assert pub.opens(KeyRecord("pgp", {"fp": "ab" * 20}))
    assert pub.opens(KeyRecord("pgp", {"fp": ("AB" * 20)[-16:]}))  # a long key id
    assert not pub.opens(KeyRecord("pgp", {"fp": "CD" * 20}))
    assert key.opens(KeyRecord("age", {"recipient": recipient}))
    assert not key.opens(KeyRecord("age", {"recipient": generate_identity()[1]}))
    for bad in ("hello world", "", "AGE-SECRET-KEY-1NOTAKEY"):
        with pytest.raises(InputError):
            leaked_from_text(bad)


def test_shamir_share_is_not_full_exposure() -> None:
    a, b = generate_identity()[1], generate_identity()[1]
    key = leaked_from_text(a)
    groups = [[KeyRecord("age", {"recipient": a})], [KeyRecord("age", {"recipient": b})]]
    assert _opens(Metadata(key_groups=groups, shamir_threshold=2), key) == SHARE
    assert _opens(Metadata(key_groups=groups, shamir_threshold=1), key) == FULL
    assert _opens(Metadata(key_groups=[groups[1]]), key) is None


@pytest.mark.parametrize(("fmt", "plain"), [
    ("yaml", b"token: {v}\n"), ("json", b'{{"token": "{v}"}}'), ("dotenv", b"TOKEN={v}\n"),
    ("ini", b"[s]\ntoken = {v}\n"), ("binary", b"raw bytes {v} here\n"),
])
def test_sops_files_of_every_store_are_searched(fmt: str, plain: bytes) -> None:
    identity, recipient = generate_identity()
    value = make_value()
    data = encrypt(plain.replace(b"{v}", value.encode()).replace(b"{{", b"{").replace(b"}}", b"}"),
                   format=fmt, age=[recipient], config=False)
    assert value.encode() not in data
    probe = ValueProbe(value.encode(), new_incident_key())
    opened = SopsOpener(KeyContext(age_identities=[identity], env={})).plaintext(data)
    assert opened is not None and probe.find(opened) == ["plain"]
    keyed = KeyedProbe(probe.fingerprint, probe.key, probe.forms())
    assert keyed.find(opened) == ["plain"]
    assert SopsOpener(KeyContext(age_identities=[generate_identity()[0]], env={})).plaintext(data) is None


def test_logs_gz_zip_chunk_boundaries_and_symlink_loops(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip
    import os
    import zipfile

    from sopskit.leak import search

    value = make_value()
    logs = tmp_path / "logs"
    (logs / "a").mkdir(parents=True)
    (logs / "a" / "run.log.gz").write_bytes(gzip.compress(f"x {value} y\n".encode()))
    with zipfile.ZipFile(logs / "artefacts.zip", "w") as zf:
        zf.writestr("inner/out.txt", f"token={value}\n")
        zf.writestr("clean.txt", "nothing\n")
    (logs / "clean.log").write_text("nothing here\n")
    os.symlink(logs, logs / "a" / "loop")
    probe = ValueProbe(value.encode(), new_incident_key())
    result = search.search_logs([logs], probe)
    names = sorted(o.path or "" for o in result.occurrences)
    assert names == [f"{logs}/a/run.log.gz", f"{logs}/artefacts.zip!inner/out.txt"]
    big = tmp_path / "big.log"
    chunk = search.LOG_CHUNK
    search.LOG_CHUNK = 1024  # a value across a chunk boundary is still found
    try:
        big.write_bytes(b"." * 1020 + value.encode() + b"\n")
        assert [o.path for o in search.search_logs([big], probe).occurrences] == [str(big)]
    finally:
        search.LOG_CHUNK = chunk


def test_scrub_mirror_is_not_inside_the_secret_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from sopskit.leak.hygiene import NOT_A_FIX, prepare

    repo = tmp_path / "clone"
    repo.mkdir()
    rec = {"id": "x", "surface": {"occurrences": [{"repo": str(repo), "where": "history", "blob": "ab" * 20,
                                                   "commits": ["cd" * 20]}]}}
    plan = prepare(tmp_path / "x.yaml", rec, str(repo), value=b"some-secret-value",
                   env={"SOPSKIT_TMPDIR": str(tmp_path)}, allow_disk=True)
    assert plan.replacement_file is not None
    secret_dir = Path(plan.replacement_file).parent
    assert not Path(plan.mirror).is_relative_to(secret_dir) and Path(plan.mirror).parent == tmp_path
    assert plan.commands[2] == f"rm -rf {secret_dir}"
    assert "cd" * 20 in plan.hosting_text and "safe" in NOT_A_FIX
    assert b"some-secret-value" not in plan.hosting_text.encode() + "\n".join(plan.commands).encode()
