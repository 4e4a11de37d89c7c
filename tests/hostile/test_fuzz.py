"""Fuzz harness: every store's parsers, the encrypted-file path (metadata, key recovery,
decryption, MAC) and ``.sops.yaml`` loading, fed random and mutated input by hypothesis.

The rule: a hostile input may only ever raise a :class:`sopskit.errors.SopsError` (one line
and an exit code at the CLI); any other exception is a crash. The normal test run uses a
fixed number of examples per target; ``SOPSKIT_FUZZ_EXAMPLES=N`` runs more by hand (see
docs/limits.md). Small resource limits keep each example fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopskit.config.sops_yaml import parse_config
from sopskit.errors import SopsError
from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt
from sopskit.ops.document import read_encrypted
from sopskit.ops.encrypt import encrypt
from sopskit.stores import get_store

EXAMPLES = int(os.environ.get("SOPSKIT_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="SOPSKIT_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
STORES = ("yaml", "json", "dotenv", "ini", "binary")

PLAIN_SEEDS = {
    "yaml": b"# head\na: 1\nb: [x, {c: d}]\nanchor: &x {k: v}\nuse: *x\nt: 2024-01-02T03:04:05Z\n"
            b"s: |\n  multi\n  line\nn: ~\n---\nsecond: doc\n",
    "json": b'{"a": 1, "b": [true, null, 1.5e3, {"c": "d\\u00e9"}], "e": {}}\n',
    "dotenv": b"# comment\nA=1\nB=multi\\nline\nC=\n",
    "ini": b"; c\n[DEFAULT]\nk = v\n[sec]\na = 1\nb = \"q\"\n",
    "binary": b"\x00\x01 raw bytes \xff\n",
}
IDENTITY, RECIPIENT = generate_identity()
ENCRYPTED_SEEDS = {
    store: encrypt(PLAIN_SEEDS[store], format=store, age=[RECIPIENT], config=False)
    for store in STORES
}
CONFIG_SEED = (
    "creation_rules:\n"
    "  - path_regex: ^prod/.*\\.yaml$\n"
    "    encrypted_regex: ^(data|stringData)$\n"
    f"    age: {RECIPIENT}\n"
    "  - key_groups:\n"
    f"      - age: [{RECIPIENT}]\n"
    "        pgp: [FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4]\n"
    "    shamir_threshold: 1\n"
    "stores:\n  yaml: {indent: 2}\n"
)

_TOKENS = [b"{", b"}", b"[", b"]", b":", b": ", b"- ", b"\n", b"  ", b"#", b"&a ", b"*a", b"!!binary ",
           b"'", b'"', b"\\", b"=", b"sops", b"__map_", b"__list_", b"9999999999", b"ENC[AES256_GCM,",
           b"data:", b"iv:", b"tag:", b"type:str]", b"\t", b"\r", b"\x00", b"\xff", b"---\n", b"|", b">",
           b",", b"mac", b"version", b"age", b"recipient", b"enc", b"lastmodified", b"[sops]"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few byte-level edits: flips, inserted tokens, deletions, splices."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 4))
        at = draw(st.integers(0, len(data)))
        if op == 0 and data:
            at = min(at, len(data) - 1)
            data[at] = draw(st.integers(0, 255))
        elif op == 1:
            data[at:at] = draw(st.sampled_from(_TOKENS))
        elif op == 2:
            data[at:at + draw(st.integers(1, 40))] = b""
        elif op == 3:
            data[at:at] = draw(st.binary(max_size=12))
        else:
            end = draw(st.integers(at, len(data)))
            data[at:at] = data[at:end] * draw(st.integers(1, 4))
    return bytes(data)


def inputs(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated(seed),
        st.binary(max_size=200),
        st.lists(st.sampled_from([*_TOKENS, b"a", b"b", b"1"]), max_size=60).map(b"".join),
    )


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SOPSKIT_MAX_NODES", "20000")
    monkeypatch.setenv("SOPSKIT_MAX_FILE_SIZE", "100000")
    yield


_runs: dict[str, int] = {}


def _report(name: str) -> None:
    """Examples run for one target: printed (``-s``) on long runs by hand, and never zero."""
    count = _runs.get(name, 0)
    assert count > 0
    if "SOPSKIT_FUZZ_EXAMPLES" in os.environ:
        sys.stderr.write(f"fuzz {name}: {count} examples, no crash\n")


def _survives(call: Callable[[], object]) -> None:
    try:
        call()
    except SopsError as exc:  # the only acceptable failure: one line for the user
        assert str(exc) and "\n" not in exc.message
    except RecursionError:
        pytest.fail("RecursionError: a walk is not bounded by the depth limit")


@pytest.mark.parametrize("store", STORES)
def test_fuzz_plain_parsers(store: str) -> None:
    @FUZZ
    @given(inputs(PLAIN_SEEDS[store]))
    def run(data: bytes) -> None:
        _runs[f"plain-{store}"] = _runs.get(f"plain-{store}", 0) + 1
        impl = get_store(store)

        def parse_and_emit() -> None:
            branches = impl.load_plain(data)
            impl.emit_plain(branches)

        _survives(parse_and_emit)

    run()
    _report(f"plain-{store}")


@pytest.mark.parametrize("store", STORES)
def test_fuzz_encrypted_files(store: str) -> None:
    @FUZZ
    @given(inputs(ENCRYPTED_SEEDS[store]))
    def run(data: bytes) -> None:
        _runs[f"encrypted-{store}"] = _runs.get(f"encrypted-{store}", 0) + 1
        _survives(lambda: read_encrypted(data, get_store(store)))
        _survives(lambda: decrypt(data, format=store, identities=[IDENTITY]))

    run()
    _report(f"encrypted-{store}")


def test_seeds_are_valid() -> None:
    """The mutations start from files that really decrypt (else the fuzzer tests nothing)."""
    for store in STORES:
        assert decrypt(ENCRYPTED_SEEDS[store], format=store, identities=[IDENTITY])
    assert parse_config(CONFIG_SEED, Path(".sops.yaml")).creation_rules


def test_fuzz_sops_yaml() -> None:
    @FUZZ
    @given(inputs(CONFIG_SEED.encode()))
    def run(data: bytes) -> None:
        _runs["sops-yaml"] = _runs.get("sops-yaml", 0) + 1
        text = data.decode("utf-8", "replace")

        def load() -> None:
            config = parse_config(text, Path("/repo/.sops.yaml"))
            for rule in config.creation_rules:
                rule.matches("prod/x.yaml")
            config.rule_for(Path("/repo/prod/x.yaml"))

        _survives(load)

    run()
    _report("sops-yaml")
