"""Files from real repositories' history that sops opens, minimised and made up, sops 3.11
(real binary) vs sopskit. ``bench/opens.py`` finds them by running both tools over every SOPS
file version of the mirrored GitOps repositories.
"""

from __future__ import annotations

from pathlib import Path

from sopskit.format.recognize import has_sops_metadata
from tests.peer.conftest import Peer


def _split_dotenv(text: str) -> tuple[str, str]:
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("sops_"))
    return "".join(lines[:at]), "".join(lines[at:])


def test_dotenv_encrypted_twice_opens_like_sops(peer: Peer) -> None:
    """sops 3.8 encrypted an already encrypted dotenv file: its old ``sops_`` lines became
    ``ENC[...]`` data and fresh metadata followed. sops 3.11 reads the last of each."""
    path = peer.encrypt("sops", peer.write("app.env", "USER=alice\nTOKEN=t0k3n\n"))
    body, metadata = _split_dotenv(path.read_text())
    stale = "".join(f"{line.split('=', 1)[0]}=ENC[AES256_GCM,data:b2xk,iv:aXY=,tag:dGFn,type:str]\n"
                    for line in metadata.splitlines())
    twice = peer.write("twice.env", body + stale + metadata)
    expected = peer.decrypt("sops", twice)
    assert expected == b"USER=alice\nTOKEN=t0k3n\n"
    assert peer.decrypt("kit", twice) == expected
    assert peer.ok("kit", "filestatus", twice) == peer.ok("sops", "filestatus", twice)


def _without_mac(path: Path) -> bytes:
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("    mac: ")]
    assert len(kept) == len(lines) - 1
    return "".join(kept).encode()


def test_file_without_mac_opens_like_sops(peer: Peer) -> None:
    """Like sops's functional-tests/res/no_mac.yaml: not "encrypted" for filestatus (no MAC),
    refused by decrypt with the same exit code, decrypted by both with --ignore-mac, and
    recognised as a SOPS file by the guardrails."""
    path = peer.encrypt("sops", peer.write("plain.yaml", "user: alice\npassword: hunter2\n"))
    no_mac = peer.write("no_mac.yaml", _without_mac(path))
    assert has_sops_metadata(no_mac.read_bytes())
    status = peer.ok("sops", "filestatus", no_mac)
    assert status == b'{"encrypted":false}\n'
    assert peer.ok("kit", "filestatus", no_mac) == status
    codes = {tool: peer.run(tool, "decrypt", no_mac).returncode for tool in ("sops", "kit")}
    assert codes["sops"] != 0 and codes["kit"] == codes["sops"], codes
    out = peer.decrypt("sops", no_mac, "--ignore-mac")
    assert out == b"user: alice\npassword: hunter2\n"
    assert peer.decrypt("kit", no_mac, "--ignore-mac") == out


def test_filestatus_errors_where_sops_cannot_load_the_metadata(peer: Peer) -> None:
    """A sops block without keys, or with a time sops cannot parse: both tools fail
    ``filestatus`` (it is not "encrypted": false, which means "no sops block")."""
    path = peer.encrypt("sops", peer.write("plain.yaml", "user: alice\n"))
    text = path.read_text()
    start = text.index("    age:\n")
    end = text.index("    lastmodified:")
    broken = {
        "no-keys.yaml": text[:start] + "    age: []\n" + text[end:],
        "bad-time.yaml": text.replace("    lastmodified: ", "    lastmodified: '1484000000.5'\n    x: ", 1),
    }
    for name, content in broken.items():
        target = peer.write(name, content)
        codes = {tool: peer.run(tool, "filestatus", target).returncode for tool in ("sops", "kit")}
        assert codes == {"sops": 1, "kit": 1}, (name, codes)
    plain = peer.write("nothing.yaml", "user: alice\n")
    assert peer.ok("kit", "filestatus", plain) == peer.ok("sops", "filestatus", plain) == b'{"encrypted":false}\n'


def _kyaml(value: object, indent: str = "") -> str:
    """Flow-style YAML as kubectl's KYAML output writes it: braces, one key per line, unquoted
    keys, double-quoted strings (a JSON string is a YAML double-quoted scalar), trailing commas."""
    import json

    inner = indent + "  "
    if isinstance(value, dict):
        return "{\n" + "".join(f"{inner}{k}: {_kyaml(v, inner)},\n" for k, v in value.items()) + indent + "}"
    if isinstance(value, list):
        return "[\n" + "".join(f"{inner}{_kyaml(v, inner)},\n" for v in value) + indent + "]"
    return json.dumps(value)


def test_flow_style_sops_files_open_like_sops_and_count_as_encrypted(peer: Peer, tmp_path: Path) -> None:
    """held-out-9: a repository reformatted its SOPS Secrets into KYAML (flow style): sops
    decrypts them (its YAML parser reads flow style), but the guardrails' byte test looked for
    ``sops:`` at column 0 only, so every file counted as plaintext. Both layouts, one key per
    line and the whole document on one line, must be recognised and decrypt like sops."""
    import secrets

    import yaml

    from sopskit.policy import check_policy

    path = peer.encrypt("sops", peer.write("secret.sops.yaml",
                                           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n"
                                           "stringData:\n  password: hunter2-but-longer\n  port: 5432\n"))
    tree = yaml.safe_load(path.read_text())
    layouts = {"kyaml": "---\n" + _kyaml(tree) + "\n",
               "oneline": yaml.safe_dump(tree, default_flow_style=True, sort_keys=False, width=1 << 20)}
    for name, text in layouts.items():
        assert not text.lstrip("-\n").startswith("apiVersion")
        flow = peer.write(f"{name}.sops.yaml", text)
        assert has_sops_metadata(flow.read_bytes()), name
        expected = peer.decrypt("sops", flow)
        assert b"hunter2-but-longer" in expected
        assert peer.decrypt("kit", flow) == expected, name
        assert peer.ok("kit", "filestatus", flow) == peer.ok("sops", "filestatus", flow), name
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "secret.sops.yaml").write_text(layouts["kyaml"])
    report = check_policy(repo, only=["plaintext-secret"])
    assert [v.path for v in report.violations] == []
    plain = repo / "plain.yaml"
    plain.write_text(_kyaml({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"},
                             "stringData": {"password": "Zq8" + secrets.token_hex(8) + "Tw"}}) + "\n")
    assert [v.path for v in check_policy(repo, only=["plaintext-secret"]).violations] == ["plain.yaml"]


def test_a_utf16_sops_yaml_is_read_like_sops(peer: Peer) -> None:
    """A ``.sops.yaml`` saved as UTF-16 with a byte-order mark (Windows editors do this): go-yaml
    v3 decodes it by its mark, so sops encrypts with its rules; sopskit used to refuse it, and
    its guardrails stopped with an internal error (held-out round 10)."""
    rules = f"creation_rules:\n  - path_regex: \\.yaml$\n    age: {peer.recipient}\n"
    peer.write(".sops.yaml", rules.encode("utf-16"))
    plain = peer.write("app.yaml", "user: alice\ntoken: t0k3n\n")
    by_sops = peer.ok("sops", "encrypt", plain)
    by_kit = peer.ok("kit", "encrypt", plain)
    assert peer.recipient.encode() in by_sops and peer.recipient.encode() in by_kit
    for name, data in (("sops.app.yaml", by_sops), ("kit.app.yaml", by_kit)):
        written = peer.write(name, data)
        assert peer.decrypt("kit", written) == peer.decrypt("sops", written) == b"user: alice\ntoken: t0k3n\n"
    checked = peer.run("kit", "policy", "check", ".")
    assert b"internal error" not in checked.stderr and checked.returncode in (0, 1), checked.stderr[-300:]
