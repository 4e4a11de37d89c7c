"""Red-team of the command line against the "secrets are authority" and "bad input" rules.

Each encrypted file holds unique random markers as plaintext. Every case breaks the file in
one way, runs commands through the real entry point and checks the one verdict
(:func:`tests.robustness._harness.verdict`): no traceback, at most one error line plus a hint,
the sops exit code, no marker on stderr (nor on stdout unless printing plaintext is the
command's job and it succeeded), a failed command leaves the file byte-identical, and a
command that exits 0 after decrypting printed every marker (right output, not partial).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from tests.robustness import _harness as h
from tests.robustness import _mutations as mut
from tests.robustness.conftest import World

Place = Callable[[str, bytes | None], h.Fixture]

#: metadata changes after which no decrypting command can succeed
SURELY_CORRUPT = {
    "no-sops-block", "sops-block-is-list", "sops-block-is-string", "sops-block-is-null",
    "no-mac", "mac-is-list", "mac-is-int", "mac-is-empty", "mac-is-garbage",
    "no-age", "age-is-string", "age-is-dict", "age-entry-is-string", "age-entry-is-null",
    "age-enc-is-garbage", "age-enc-is-int", "age-enc-missing", "shamir-threshold-is-x",
    "lastmodified-is-garbage", "lastmodified-is-int", "lastmodified-is-list", "no-lastmodified",
    "document-is-list", "document-is-scalar",
}


def check(world: World, fx: h.Fixture, names: Iterable[str], *, corrupt: bool,
          env: dict[str, str] | None = None) -> list[str]:
    """Run each named command on ``fx`` (restoring the file between runs); all problems."""
    before = fx.path.read_bytes() if fx.path.is_file() else None
    problems: list[str] = []
    for name in names:
        command = h.COMMANDS_BY_NAME[name]
        result = h.run(command.argv(fx, fx.path, world.keys), env=env or world.env(), cwd=fx.path.parent)
        found = h.verdict(result, command=command, markers=fx.markers, before=before, path=fx.path,
                          corrupt=corrupt)
        if result.returncode == 0 and name == "decrypt":
            found += [f"exit 0 but marker {i} missing from the output"
                      for i, m in enumerate(fx.markers) if m.encode() not in result.stdout]
        problems += [f"{name}: {p}" for p in found]
        if before is not None and fx.path.read_bytes() != before:
            fx.path.write_bytes(before)
    return problems


NESTED_STORES = {"yaml", "json", "ini"}
TYPE_NOT_AUTHENTICATED = (
    "the type tag of an ENC[] value is not authenticated (the cipher's AAD is the key path, the MAC "
    "hashes the value bytes, as in sops): type:str -> type:bytes decrypts with exit 0 and the value "
    "rendered differently (base64 / byte list)"
)


# -- baseline: the intact file works for every command ------------------------------------

@pytest.mark.parametrize("store", h.STORES)
def test_intact_file_every_command(world: World, place: Place, store: str) -> None:
    fx = place(store, None)
    problems = check(world, fx, [c.name for c in h.COMMANDS], corrupt=False)
    assert not problems, '\n'.join(problems)
    for name in h.DECRYPTING:
        if name == "exec-env" and store in NESTED_STORES:
            continue  # as in sops, nested values cannot become environment variables
        command = h.COMMANDS_BY_NAME[name]
        fresh = place(store, None)
        result = h.run(command.argv(fresh, fresh.path, world.keys), env=world.env(), cwd=fresh.path.parent)
        assert result.returncode in command.ok_codes, (name, result.stderr[-300:])


# -- metadata of the wrong shape ------------------------------------------------------------

#: (store, mutation) -> why it fails today; strict, so a fix turns the suite red until removed
METADATA_XFAIL: dict[tuple[str, str], str] = {}


def _metadata_params() -> list[object]:
    params: list[object] = []
    for store in h.STORES:
        for name in mut.metadata_mutations(store):
            reason = METADATA_XFAIL.get((store, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(store, name, marks=marks, id=f"{store}-{name}"))
    return params


@pytest.mark.parametrize(("store", "mutation"), _metadata_params())
def test_metadata_mutation(world: World, place: Place, store: str, mutation: str) -> None:
    data = mut.metadata_mutation(store, mutation)(world.fixtures[store].encrypted)
    fx = place(store, data)
    # set exercises the in-place path; two stores (one structured, one flat) keep the suite fast
    names = ["decrypt", "set"] if store in ("yaml", "dotenv") else ["decrypt"]
    problems = check(world, fx, names, corrupt=mutation in SURELY_CORRUPT)
    assert not problems, '\n'.join(problems)


# -- tampered values ------------------------------------------------------------------------

VALUE_XFAIL: dict[tuple[str, str], str] = {}
#: accepted by design, as in sops (see TYPE_NOT_AUTHENTICATED): the checks still apply (no
#: traceback, no leak on stderr, file kept on failure) but exit 0 is allowed
NOT_CORRUPT = {"value-type-bytes"}


def _value_params() -> list[object]:
    params: list[object] = []
    for store in h.STORES:
        for name in sorted(mut.VALUES):
            reason = VALUE_XFAIL.get((store, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(store, name, marks=marks, id=f"{store}-{name}"))
    return params


@pytest.mark.parametrize(("store", "mutation"), _value_params())
def test_value_mutation(world: World, place: Place, store: str, mutation: str) -> None:
    fx = place(store, mut.VALUES[mutation](world.fixtures[store].encrypted))
    # a changed type tag is not authenticated by the value cipher; only the MAC can catch it
    if mutation in NOT_CORRUPT:
        # sops renders a type:bytes value its own way (JSON base64, dotenv/INI a byte list):
        # the command succeeds, and nothing but the requested output carries the value
        result = h.run(["decrypt", str(fx.path)], env=world.env(), cwd=fx.path.parent)
        assert result.returncode == 0 and b"Traceback" not in result.stderr
        assert not any(m.encode() in result.stderr for m in fx.markers)
        return
    problems = check(world, fx, ["decrypt", "set"], corrupt=True)
    assert not problems, '\n'.join(problems)


# -- raw bytes: encodings, garbage, sizes ---------------------------------------------------

RAW_XFAIL: dict[tuple[str, str], str] = {}
#: per store, raw changes a parser may legitimately accept (then the output must be complete)
RAW_BENIGN_FOR = {"ini": {"first-line-duplicated"}}  # a repeated [section] header merges
#: raw changes that keep the document meaning intact (a parser may accept them)
RAW_BENIGN = {"crlf", "utf8-bom"}


def _raw_params() -> list[object]:
    params: list[object] = []
    for store in h.STORES:
        for name in sorted(mut.RAW):
            reason = RAW_XFAIL.get((store, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(store, name, marks=marks, id=f"{store}-{name}"))
    return params


@pytest.mark.parametrize(("store", "mutation"), _raw_params())
def test_raw_mutation(world: World, place: Place, store: str, mutation: str) -> None:
    fx = place(store, mut.RAW[mutation](world.fixtures[store].encrypted))
    benign = RAW_BENIGN | RAW_BENIGN_FOR.get(store, set()) | {"odd-unicode-key", "huge-line"}
    corrupt = mutation not in benign
    problems = check(world, fx, ["decrypt", "set", "filestatus"], corrupt=corrupt)
    assert not problems, '\n'.join(problems)


# -- truncation at every line ---------------------------------------------------------------

@pytest.mark.parametrize("store", h.STORES)
def test_truncated_at_every_line(world: World, place: Place, store: str) -> None:
    problems: list[str] = []
    for i, data in enumerate(mut.truncations(world.fixtures[store].encrypted)):
        fx = place(store, data)
        # a cut that drops only optional trailing metadata (version, suffix) still decrypts;
        # then every marker must be in the output, which check() verifies
        problems += [f"cut {i}: {p}" for p in check(world, fx, ["decrypt"], corrupt=False)]
    assert not problems, '\n'.join(problems)


# -- every command on one sure corruption ---------------------------------------------------



@pytest.mark.parametrize("store", h.STORES)
@pytest.mark.parametrize("mutation", [
    "value-data-flipped",
    "no-mac-line",
])
def test_every_command_on_corrupt_file(world: World, place: Place, store: str, mutation: str) -> None:
    original = world.fixtures[store].encrypted
    if mutation == "no-mac-line":
        data = mut.metadata_mutation(store, "no-mac")(original)
    else:
        data = mut.VALUES[mutation](original)
    fx = place(store, data)
    problems = check(world, fx, [c.name for c in h.COMMANDS], corrupt=True)
    assert not problems, '\n'.join(problems)
