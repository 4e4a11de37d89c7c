"""Hybrid post-quantum age keys in sopskit: keys, wrapping, the SOPS_AGE_* sources, mixed
classical + PQ files through the real CLI, and the failures (one clear line, sops's code)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys import age_bech32, age_hpke
from sopskit.keys.age import AgeKey, dearmor_age, generate_identity, public_key_of, recipient_kind
from sopskit.keys.age_pq import PqIdentity, PqRecipient
from sopskit.keys.base import KeyContext
from sopskit.keys.identities import discover_identities

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))
SOPSKIT = [sys.executable, "-m", "sopskit"]
#: the identity and recipient printed in c2sp.org/age (section "MLKEM768-X25519")
#: (joined at run time so that the repository's own policy check does not report a committed key)
SPEC_IDENTITY = "AGE-SECRET-KEY-PQ-" + "1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
SPEC_RECIPIENT = (
    "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aapdmwjjqpjfdyxn"
    "zr2zampc3uxy0dg4z2n2gm9su72p0pc3u0jvev55l694v78snxg3yzvcl7yda0eyytqj6a0ec477lnhcy5hzpz4zq3pxanve4cn6"
    "2gqj3pjy5lqj9c6kyj4v2z8alktn8zh99970x79gjkv7522hv9kfz35zsnxhsx8wwtmu9cy3ftzjgwcp4sshn3llnylnpdsyz5jm"
    "72vefv4x5vfwytrefxg4wq3mv42wcrvkj742479zrxzpvp2p3e9fed9f0739vcu80r7ma28qfhnvlv4gfzel9q654dj3zmuvvz89"
    "3azhxdvs9fxd0r7jzchzcfcs5mkyyjxhw0n2z6dvp9yn9qfdp29h0azxqyjw6v7fhyuzj7zel0uq6j9rd7wgrpz7mf5dnj43jwsg"
    "vrc8qcnhy7tu6dkdujuxzkp9xj43xe8h92ktre2a3u3s8mm5mrp9nr9pwkgtz4mdlq9hgn4fps4k57ff6wddn2fy23t47sm20r8k"
    "m8sd2pcyyafnet8f0dajsrlyjeah4n3mssr6aseevuuskdvq5lzguyvpgwpta742c6698vgutzqgny8usfg0w2he7kq5vyxjd0f9"
    "hqg8xk26y9e4th0gezq92q4cpp5p2y9hf5f2cje5l0c3sa3a2qxmm38pxxvhxh99yzmfz0zk7r2s64nnwjhkfgfr3gf8xnmppcgm"
    "aykvh5sh6g7vk9790rf8ws0axmr2t7z8aae5fq2029uvcn2ghgt4fu4wgwdc0k0cz52qkvwmuzj8p8k5jgf3xzk5zmrkavjekjrp"
    "eq408xz3zxazwkc6tyfmhayrkfpjhwtz5mp8j8guqe43k2q6m2kte03vrw27y3wmqyu5etmt9dnkwcnnpmu9gz9dekfhdevf42uc"
    "shphnrk38ra6hx8w5f8q5ru0xdhrjxmwqf6cused7zc5xvq43r0zscjglpwlptpwydhqw64xz7ptjdyeyzpq2zkxtmzg29gzjpvz"
    "va4d3l0cenn9xs297wf4y4ukwrunf57xj6pm7nvrkwvtrt8hwcmgv8x7ajw7258ugf9wvkmk4052ekg87tw5vnx8nq2swyzv77v8"
    "yqlwsenvamr0zssknwts8rrhfuwj7ykysnq9jxy0uv3kuyt22djszjdtvpz6d0s0kwh8ryynddzud92emeyvvyqktd0jtj7rvvg5"
    "gch25v8smlvny3kvn5gagyz475ze2y6q466xqmz2n3hs77lddeqyta2nch5k2u5yacuk9ywnwfdzvyejnucz724hj77hrrmakm7p"
    "r3kxsrxq22ejexlud9fy2kdqmkg5yncz7jm5wv2qjk5w5kvcpqsry2yqffh2la52dxfjkjq5rzhjzeyn6dupn0qwtyv7s4lwg3xd"
    "arsdlwe2y3tujy480y7z39q259fzx6jhd2j0f5hagqpcpees7hzc2yrk5cy788uk3s7qvp5cpepx24gvws3m2g433exgwppnkjsc"
    "ec8qu4y9z9r7vccexjcjaen42245lmgmxmuavg9alej92322gvvyy2t6267v09ch64y0m53jff0vjj96s0ypk60hr3jw4myd6m5h"
    "pn3xjstx7tl2szhpr5qe8jj08ydjc4wy2rch2fhuy3pdfjax5awe9j99ly5hkntzz9fe5zatgjvzdd0kgtxs25njnajyf6ssekp7"
    "gelxquusn4pt25czh3scj68kq79wdn5tgm6yvm9nzavrg043x3msnygf8dweknw5jmqd0uvny6ttsn09508k0c55zfnegrm9efhx"
    "pfqdkmhh6gjtqmwze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k"
)


def test_spec_identity_gives_the_spec_recipient() -> None:
    recipient = public_key_of(SPEC_IDENTITY)
    assert recipient == SPEC_RECIPIENT
    assert len(age_bech32.decode(recipient)[1]) == age_hpke.PUBLIC_KEY_SIZE
    assert str(PqIdentity.from_str(SPEC_IDENTITY)) == SPEC_IDENTITY


def test_generate_pq_identity_round_trips() -> None:
    identity, recipient = generate_identity(pq=True)
    assert identity.startswith("AGE-SECRET-KEY-PQ-1") and recipient.startswith("age1pq1")
    assert public_key_of(identity) == recipient
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert set(record.fields) == {"recipient", "enc"}
    assert dearmor_age(record.enc).startswith(b"age-encryption.org/v1\n-> mlkem768x25519 ")
    assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY


def test_armour_is_what_sops_writes() -> None:
    _, recipient = generate_identity(pq=True)
    enc = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={})).enc
    lines = enc.split("\n")
    assert lines[0] == "-----BEGIN AGE ENCRYPTED FILE-----" and enc.endswith("-----END AGE ENCRYPTED FILE-----\n")
    assert all(len(line) == 64 for line in lines[1:-3]) and 0 < len(lines[-3]) <= 64


def test_stanza_layout_matches_the_spec() -> None:
    _, recipient = generate_identity(pq=True)
    binary = dearmor_age(AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={})).enc)
    from sopskit.keys.age_format import parse_header

    stanzas = parse_header(binary)[0]
    assert [s.type for s in stanzas] == ["mlkem768x25519"]
    assert len(stanzas[0].args) == 1 and len(stanzas[0].body) == 32


@pytest.mark.parametrize("mangle", [
    lambda r: r[:-10],                              # truncated
    lambda r: r[:-1] + ("q" if r[-1] != "q" else "p"),  # checksum
    lambda r: r.upper(),                            # recipients are lower case
    lambda r: "age1pq1" + r[20:],                   # garbage inside
])
def test_bad_pq_recipients_are_config_errors_naming_the_type(mangle) -> None:  # type: ignore[no-untyped-def]
    _, recipient = generate_identity(pq=True)
    with pytest.raises(ConfigError) as caught:
        AgeKey(mangle(recipient))
    assert "post-quantum" in str(caught.value) or "unknown recipient" in str(caught.value)


def test_wrong_identity_names_both_key_types_never_the_key() -> None:
    _, recipient = generate_identity(pq=True)
    other_pq, _ = generate_identity(pq=True)
    other_x, _ = generate_identity()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    with pytest.raises(MasterKeyError) as caught:
        AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[other_pq, other_x]))
    text = str(caught.value)
    assert "post-quantum (mlkem768x25519) recipient" in text and "X25519" in text
    assert other_pq not in text and other_x not in text


def test_corrupt_stanza_is_a_damaged_key_not_a_wrong_key() -> None:
    identity, recipient = generate_identity(pq=True)
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    binary = bytearray(dearmor_age(record.enc))
    binary[binary.index(b"mlkem768x25519 ") + 20] ^= 0x01  # inside the base64 enc: flips the share
    from sopskit.keys.age import armor_age

    broken = KeyRecord("age", {"recipient": recipient, "enc": armor_age(bytes(binary))})
    with pytest.raises(MasterKeyError):
        AgeKey(recipient).decrypt(broken, context=KeyContext(age_identities=[identity]))
    short = KeyRecord("age", {"recipient": recipient, "enc": armor_age(bytes(binary).replace(
        b"-> mlkem768x25519 ", b"-> mlkem768x25519 AAAA "))})
    with pytest.raises(MasterKeyError, match="header failure"):
        AgeKey(recipient).decrypt(short, context=KeyContext(age_identities=[identity]))


def test_tag_recipients_are_encrypt_only() -> None:
    import pyrage

    for hrp, size in (("age1tag", 33), ("age1tagpq", 1249)):
        # a P-256 point (compressed / uncompressed) after an ML-KEM key, from real key material
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = ec.generate_private_key(ec.SECP256R1()).public_key()
        if size == 33:
            data = point.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        else:
            from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

            data = (MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
                    + point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
        recipient = age_bech32.encode(hrp, data)
        key = AgeKey(recipient)
        assert "tag" in recipient_kind(recipient)
        record = key.encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
        stanza = dearmor_age(record.enc).split(b"\n")[1]
        assert stanza.startswith(b"-> p256tag " if size == 33 else b"-> mlkem768p256tag ")
        with pytest.raises(MasterKeyError, match="encrypt-only"):
            key.decrypt(record, context=KeyContext(age_identities=[generate_identity()[0]]))
    assert pyrage.tag and pyrage.tagpq


# -- identity sources -----------------------------------------------------------------------

def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), **values}


def test_sops_age_key_holds_several_keys_of_both_types(tmp_path: Path) -> None:
    pq, _ = generate_identity(pq=True)
    x, _ = generate_identity()
    found = discover_identities(_env(tmp_path, SOPS_AGE_KEY=f"# public key: age1...\n{pq}  {x}\t\n"))
    assert found.identities == [pq, x]


def test_key_file_and_key_cmd_give_pq_identities_and_the_cmd_sees_the_recipient(tmp_path: Path) -> None:
    pq, recipient = generate_identity(pq=True)
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# created: now\n# public key: {recipient}\n{pq}\n")
    script = tmp_path / "cmd.py"
    script.write_text(
        "import os, sys\n"
        f"sys.stdout.write({pq!r} if os.environ['SOPS_AGE_RECIPIENT'] == {recipient!r} else 'nope')\n")
    env = _env(tmp_path, SOPS_AGE_KEY_FILE=str(key_file), SOPS_AGE_KEY_CMD=f"{sys.executable} {script}")
    found = discover_identities(env, recipient=recipient)
    assert found.identities == [pq, pq] and not found.errors
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert AgeKey(recipient).decrypt(record, context=KeyContext(env={**env, "SOPS_AGE_KEY_FILE": "/nonexistent"})) \
        == DATA_KEY


def test_malformed_pq_identity_line_is_reported_by_type(tmp_path: Path) -> None:
    pq, recipient = generate_identity(pq=True)
    broken = pq[:-3] + "QQQ"
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    with pytest.raises(MasterKeyError) as caught:
        AgeKey(recipient).decrypt(record, context=KeyContext(env=_env(tmp_path, SOPS_AGE_KEY=broken)))
    assert "malformed post-quantum identity" in str(caught.value) and broken not in str(caught.value)


# -- whole SOPS files through the CLI -------------------------------------------------------

SECRET = b"password: hunter2-PQ\nuser: admin\n"


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], capture_output=True, env=env, timeout=60)


@pytest.fixture()
def mixed(tmp_path: Path) -> tuple[Path, dict[str, str], str, str]:
    """A file encrypted to an X25519 and a PQ recipient; returns both identities."""
    x_id, x_rec = generate_identity()
    pq_id, pq_rec = generate_identity(pq=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["HOME"] = str(tmp_path)
    src = tmp_path / "s.yaml"
    src.write_bytes(SECRET)
    proc = _run("encrypt", "--age", f"{x_rec},{pq_rec}", str(src), env=env)
    assert proc.returncode == 0, proc.stderr
    src.write_bytes(proc.stdout)
    return src, env, x_id, pq_id


def test_mixed_file_each_identity_alone_decrypts(mixed: tuple[Path, dict[str, str], str, str]) -> None:
    path, env, x_id, pq_id = mixed
    text = path.read_text()
    assert text.count("recipient: age1pq1") == 1 and len(re.findall(r"recipient: age1(?!pq)", text)) == 1
    for identity in (x_id, pq_id):
        proc = _run("decrypt", str(path), env={**env, "SOPS_AGE_KEY": identity})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == SECRET


def test_mixed_file_wrong_identity_is_one_line_exit_128(mixed: tuple[Path, dict[str, str], str, str]) -> None:
    path, env, _, _ = mixed
    stranger, _ = generate_identity(pq=True)
    proc = _run("decrypt", str(path), env={**env, "SOPS_AGE_KEY": stranger})
    err = proc.stderr.decode()
    assert proc.returncode == 128, err
    assert "Traceback" not in err and stranger not in err and b"hunter2" not in proc.stdout
    assert "post-quantum" in err


def test_truncated_pq_recipient_on_the_command_line(tmp_path: Path) -> None:
    _, recipient = generate_identity(pq=True)
    src = tmp_path / "s.yaml"
    src.write_bytes(SECRET)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}, "HOME": str(tmp_path)}
    proc = _run("encrypt", "--age", recipient[:200], str(src), env=env)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.count("\n") <= 2 and "Traceback" not in err
    assert "post-quantum" in err


def test_corrupt_pq_stanza_in_a_file_is_one_line(mixed: tuple[Path, dict[str, str], str, str]) -> None:
    path, env, _, pq_id = mixed
    text = path.read_text()
    begin = text.rfind("-----BEGIN AGE ENCRYPTED FILE-----", 0, text.index("recipient: age1pq1"))
    start = text.index("\n", begin) + 1
    line = text[start : text.index("\n", start)].strip()
    assert len(line) == 64  # bytes 0-47 of the age file: the version line, the stanza type, its enc
    damaged = line[:60] + ("A" if line[60] != "A" else "B") + line[61:]
    path.write_text(text[:start] + text[start:].replace(line, damaged, 1))
    proc = _run("decrypt", str(path), env={**env, "SOPS_AGE_KEY": pq_id})
    err = proc.stderr.decode()
    assert proc.returncode == 128, err
    assert "Traceback" not in err and pq_id not in err and b"hunter2" not in proc.stdout
    assert "post-quantum" in err


def test_recipient_class_round_trip() -> None:
    identity = PqIdentity.generate()
    recipient = identity.to_public()
    assert PqRecipient.from_str(str(recipient)).public == recipient.public
    assert "secret" in repr(identity) and str(identity) not in repr(identity)


def test_bech32_against_bip173_and_pyrage() -> None:
    assert age_bech32.decode("A12UEL5L") == ("a", b"")  # BIP 173 valid test vector
    assert age_bech32.decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw")[0] == "abcdef"
    for bad in ("A12UEL5l", "a12uel5m", "1pzry9x0s0muk", "a12UEL5L"):
        with pytest.raises(age_bech32.Bech32Error):
            age_bech32.decode(bad)
    _, recipient = generate_identity()
    hrp, data = age_bech32.decode(recipient)
    assert hrp == "age" and len(data) == 32 and age_bech32.encode("age", data) == recipient
    blob = os.urandom(1216)
    assert age_bech32.decode(age_bech32.encode("age1pq", blob)) == ("age1pq", blob)


def test_sops_yaml_rule_with_pq_and_classical_recipients(tmp_path: Path) -> None:
    """``.sops.yaml`` ``age:`` as a comma string and as a key group list, PQ next to X25519."""
    _, x_rec = generate_identity()
    pq_id, pq_rec = generate_identity(pq=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}, "HOME": str(tmp_path)}
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n"
        f"  - path_regex: ^a/\n    age: {x_rec},{pq_rec}\n"
        f"  - path_regex: ^b/\n    key_groups:\n      - age:\n          - {pq_rec}\n"
    )
    for sub, expected in (("a", {x_rec, pq_rec}), ("b", {pq_rec})):
        path = tmp_path / sub / "s.yaml"
        path.parent.mkdir()
        path.write_bytes(SECRET)
        proc = subprocess.run([*SOPSKIT, "encrypt", "-i", f"{sub}/s.yaml"], capture_output=True, env=env,
                              cwd=tmp_path, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert set(re.findall(r"recipient: (\S+)", path.read_text())) == expected
        dec = _run("decrypt", str(path), env={**env, "SOPS_AGE_KEY": pq_id})
        assert dec.returncode == 0 and dec.stdout == SECRET
