"""Where age identities come from when none are given in memory.

sops 3.11+ loads identities from *every* source below, in this order, and tries them all:

1. ``SOPS_AGE_SSH_PRIVATE_KEY_FILE``: an OpenSSH private key file;
2. ``SOPS_AGE_SSH_PRIVATE_KEY_CMD``: a command printing an unencrypted OpenSSH key;
3. ``~/.ssh/id_ed25519`` and ``~/.ssh/id_rsa`` when they exist;
4. ``SOPS_AGE_KEY``: identities separated by any whitespace;
5. ``SOPS_AGE_KEY_FILE``: an identity file;
6. ``SOPS_AGE_KEY_CMD``: a command (split with shell rules) printing an identity file;
7. ``<XDG_CONFIG_HOME or ~/.config>/sops/age/keys.txt``.

Both commands run with ``SOPS_AGE_RECIPIENT`` set to the recipient being decrypted, so a
command can pick the right key. A source that cannot be loaded does not stop discovery: its
problem is recorded (without any key material) and reported only if no identity decrypts.

Identity lines may be X25519 (``AGE-SECRET-KEY-1…``) or hybrid post-quantum
(``AGE-SECRET-KEY-PQ-1…``, sops >= 3.12); plugin identities are refused with a reason.

Identity strings are secrets. They are kept in memory as :class:`str`, handed to pyrage (or to
the native post-quantum code, :mod:`sopskit.keys.age_pq`), and never placed in messages:
sources are described by their environment variable or path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from sopskit.errors import MasterKeyError
from sopskit.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from pathlib import Path  # paths are os.path strings here: pathlib costs a cold start ~4 ms

#: identity file lines we can use: X25519 and hybrid post-quantum (age 1.3, sops >= 3.12);
#: others are recognised to explain why not
X25519_PREFIX = "AGE-SECRET-KEY-1"
PQ_PREFIX = "AGE-SECRET-KEY-PQ-1"
#: here, not in age_pq, so that telling key types apart does not load the post-quantum code
PQ_RECIPIENT_PREFIX = "age1pq1"
_USABLE_PREFIXES = (X25519_PREFIX, PQ_PREFIX)
_UNSUPPORTED_PREFIXES = {
    "AGE-PLUGIN-": "age plugin identities are not supported",
}
#: content starting like this is an age-encrypted (passphrase-protected) identity file
_ENCRYPTED_MARKERS = ("age-encryption.org/", "-----BEGIN AGE ENCRYPTED FILE-----")
_SSH_KEY_MARKER = "PRIVATE KEY-----"

#: age's default limit when decrypting (2**22 iterations, about a second)
_MAX_SCRYPT_WORK_FACTOR = 22

PassphraseReader = Callable[[str], str]
Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


class DiscoveredIdentities(Record):
    """The identities found and, for messages, where discovery looked.

    ``identities`` holds secrets; every other field is safe to show: ``sources`` yielded at
    least one identity, ``unused`` were looked at but not set, absent or empty, ``errors``
    has one line per source that could not be loaded (no key material); the repr hides the
    identities. A record, not a dataclass, to keep :mod:`dataclasses` off the decrypt path.
    """

    __slots__ = ("errors", "identities", "sources", "unused")
    _fields = ("identities", "sources", "unused", "errors")
    _hidden = ("identities",)

    def __init__(self, identities: list[str] | None = None, sources: list[str] | None = None,
                 unused: list[str] | None = None, errors: list[str] | None = None) -> None:
        self.identities: list[str] = [] if identities is None else identities
        self.sources: list[str] = [] if sources is None else sources
        self.unused: list[str] = [] if unused is None else unused
        self.errors: list[str] = [] if errors is None else errors

    def describe(self) -> str:
        """One line for error messages: which sources were used, missing or broken."""
        parts = []
        if self.sources:
            parts.append("identities from " + ", ".join(self.sources))
        if self.unused:
            parts.append("nothing found in " + ", ".join(self.unused))
        if self.errors:
            parts.append("errors: " + "; ".join(self.errors))
        return "; ".join(parts) if parts else "no identity sources"

    def add(self, location: str, identities: list[str]) -> None:
        if identities:
            self.identities.extend(identities)
            self.sources.append(location)
        else:
            self.unused.append(location)


# -- parsing --------------------------------------------------------------------------------

def is_passphrase_protected(content: str) -> bool:
    """True for an age-encrypted identity file (what ``age -p`` writes, armoured or not)."""
    return content.lstrip().startswith(_ENCRYPTED_MARKERS)


def parse_identity_file(content: str, *, location: str) -> list[str]:
    """Identities of an identity file: one per line, blank lines and ``#`` comments ignored.

    A final line without a newline is fine. Raises :class:`MasterKeyError` naming the
    location and line number of a malformed line, never its content.
    """
    identities = []
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        reason = next((why for p, why in _UNSUPPORTED_PREFIXES.items() if line.startswith(p)), None)
        if reason:
            raise MasterKeyError(f"{location} line {number}: {reason}")
        if not line.startswith(_USABLE_PREFIXES):
            raise MasterKeyError(f"{location} line {number}: not an age identity")
        identities.append(line)
    return identities


def split_identity_list(text: str) -> list[str]:
    """``SOPS_AGE_KEY``: identities separated by newlines or any other whitespace (3.13).

    Comment lines (``# public key: …`` as ``age-keygen`` writes) are dropped first.
    """
    kept = [line for line in text.splitlines() if not line.strip().startswith("#")]
    return " ".join(kept).split()


def _read_passphrase(location: str, reader: PassphraseReader | None) -> str:
    prompt = f"Enter passphrase for {location}: "
    if reader is not None:
        return reader(prompt)
    if not sys.stdin.isatty():
        raise MasterKeyError(
            f"{location} is passphrase-protected and there is no terminal to ask for the passphrase",
            hint="run from a terminal, or provide an unprotected identity via SOPS_AGE_KEY_FILE",
        )
    import getpass  # only when a passphrase is needed

    return getpass.getpass(prompt)


def passphrase_decrypt(content: bytes, secret: str) -> bytes:
    """The plaintext of a passphrase-encrypted (scrypt) age file, armoured or binary.

    Raises FormatError for broken armour and pyrage.DecryptError for a wrong passphrase or a
    damaged file (the CCTV ``scrypt_*`` vectors run through this function).
    """
    from pyrage import DecryptError, passphrase

    from sopskit.keys import age_format
    from sopskit.keys.age_format import dearmor_age

    binary = dearmor_age(content)
    try:  # refuse what age refuses before rage runs scrypt (CCTV scrypt_work_factor_23)
        stanzas = age_format.parse_header(binary)[0]
    except age_format.AgeFormatError as exc:
        raise DecryptError(str(exc)) from None
    for stanza in stanzas:
        if stanza.type == "scrypt" and (len(stanza.args) != 2 or not stanza.args[1].isdigit()
                                        or int(stanza.args[1]) > _MAX_SCRYPT_WORK_FACTOR):
            raise DecryptError("age: scrypt work factor missing or above 22")
    plain: bytes = passphrase.decrypt(binary, secret)
    return plain


def unlock_identity_file(content: bytes, *, location: str, reader: PassphraseReader | None) -> str:
    """Decrypt a passphrase-protected (scrypt) identity file and return its text."""
    from pyrage import DecryptError

    from sopskit.errors import FormatError
    from sopskit.keys.age_format import dearmor_age

    try:
        # bytes, not text: ``age -p`` without ``-a`` writes a binary file
        dearmor_age(content)
    except FormatError as exc:
        raise MasterKeyError(f"{location}: {exc.message}") from None
    secret = _read_passphrase(location, reader)
    try:
        plain = passphrase_decrypt(content, secret)
    except DecryptError as exc:
        raise MasterKeyError(f"{location}: wrong passphrase or damaged identity file") from exc
    return plain.decode("utf-8", "replace")


def load_identity_content(content: bytes, *, location: str, reader: PassphraseReader | None) -> list[str]:
    """Identities from an identity-file source, unlocking it first if passphrase-protected."""
    text = content.decode("utf-8", "replace")
    if is_passphrase_protected(text):
        text = unlock_identity_file(content, location=location, reader=reader)
    return parse_identity_file(text, location=location)


def load_ssh_identity(
    content: bytes, *, location: str, reader: PassphraseReader | None, allow_encrypted: bool = True
) -> str:
    """An OpenSSH private key as an identity string; encrypted keys are unlocked in memory,
    except from ``SOPS_AGE_SSH_PRIVATE_KEY_CMD`` (``allow_encrypted=False``), which sops 3.12
    refuses: "the SSH key returned by running SOPS_AGE_SSH_PRIVATE_KEY_CMD is password
    protected, which is unsupported"."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    text = content.decode("utf-8", "replace")
    if _SSH_KEY_MARKER not in text:
        raise MasterKeyError(f"{location}: not an SSH private key")
    try:
        serialization.load_ssh_private_key(content, password=None)
        return text
    except TypeError:
        if not allow_encrypted:
            raise MasterKeyError(f"{location}: the SSH key it returned is password protected, which is unsupported")
        # encrypted: ask for the passphrase below
    except (ValueError, UnsupportedAlgorithm):
        # PEM ("BEGIN RSA PRIVATE KEY") keys are not OpenSSH format; let pyrage judge them
        return text
    secret = _read_passphrase(location, reader)
    try:
        key = serialization.load_ssh_private_key(content, password=secret.encode())
    except UnsupportedAlgorithm as exc:
        raise MasterKeyError(f"{location}: encrypted SSH keys need the 'bcrypt' package") from exc
    except ValueError as exc:
        raise MasterKeyError(f"{location}: wrong passphrase for the SSH key") from exc
    unlocked = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return unlocked.decode()


# -- discovery ------------------------------------------------------------------------------

def _home(env: Mapping[str, str]) -> str | None:
    return env.get("HOME") or env.get("USERPROFILE") or None


def _default_key_path(env: Mapping[str, str]) -> str | None:
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "sops", "age", "keys.txt")
    home = _home(env)
    return os.path.join(home, ".config", "sops", "age", "keys.txt") if home else None


def default_key_file(env: Mapping[str, str]) -> Path | None:
    """``<XDG_CONFIG_HOME or ~/.config>/sops/age/keys.txt`` (the Linux user config dir)."""
    from pathlib import Path

    found = _default_key_path(env)
    return Path(found) if found is not None else None


def _run_command(
    variable: str, command: str, env: Mapping[str, str], recipient: str, run: Runner | None
) -> bytes:
    import subprocess  # only when a key command is configured: keeps startup fast

    if run is None:
        run = subprocess.run
    try:
        import shlex

        argv = shlex.split(command)
    except ValueError as exc:
        raise MasterKeyError(f"{variable}: the command cannot be split into arguments") from exc
    if not argv:
        raise MasterKeyError(f"{variable} is empty")
    try:
        result = run(
            argv, env={**env, "SOPS_AGE_RECIPIENT": recipient},
            stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )
    except OSError as exc:
        raise MasterKeyError(f"{variable}: cannot run {argv[0]!r}: {exc.strerror}") from exc
    if result.returncode != 0:
        # stderr of a key command may echo anything; report only the status
        raise MasterKeyError(f"{variable}: command {argv[0]!r} exited with status {result.returncode}")
    return result.stdout


def _from_file(
    found: DiscoveredIdentities, location: str, path: str,
    load: Callable[[bytes], list[str]], *, must_exist: bool,
) -> None:
    try:
        with open(path, "rb") as f:
            content = f.read()
    except FileNotFoundError:
        if must_exist:
            found.errors.append(f"{location}: file not found")
        else:
            found.unused.append(location)
        return
    except OSError as exc:
        found.errors.append(f"{location}: cannot read ({exc.strerror})")
        return
    try:
        found.add(location, load(content))
    except MasterKeyError as exc:
        found.errors.append(exc.message)


def discover_identities(
    env: Mapping[str, str],
    *,
    recipient: str = "",
    passphrase_reader: PassphraseReader | None = None,
    run: Runner | None = None,
) -> DiscoveredIdentities:
    """Collect identities from every source sops reads, in sops's order.

    ``recipient`` is passed to key commands as ``SOPS_AGE_RECIPIENT``. Problems with one
    source are recorded in the result's ``errors``; this function raises nothing itself.
    """
    found = DiscoveredIdentities()

    def ssh(location: str, *, allow_encrypted: bool = True) -> Callable[[bytes], list[str]]:
        return lambda content: [load_ssh_identity(
            content, location=location, reader=passphrase_reader, allow_encrypted=allow_encrypted)]

    def idfile(location: str) -> Callable[[bytes], list[str]]:
        return lambda content: load_identity_content(content, location=location, reader=passphrase_reader)

    def from_command(variable: str, load: Callable[[bytes], list[str]]) -> None:
        command = env.get(variable)
        if command is None:
            found.unused.append(variable)
            return
        try:
            found.add(variable, load(_run_command(variable, command, env, recipient, run)))
        except MasterKeyError as exc:
            found.errors.append(exc.message)

    ssh_file = env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    if ssh_file is None:
        found.unused.append("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    else:
        label = f"SOPS_AGE_SSH_PRIVATE_KEY_FILE ({ssh_file})"
        _from_file(found, label, ssh_file, ssh(label), must_exist=True)

    from_command("SOPS_AGE_SSH_PRIVATE_KEY_CMD", ssh("SOPS_AGE_SSH_PRIVATE_KEY_CMD", allow_encrypted=False))

    home = _home(env)
    if home is not None:
        for name in ("id_ed25519", "id_rsa"):
            path = os.path.join(home, ".ssh", name)
            _from_file(found, path, path, ssh(path), must_exist=False)

    key_text = env.get("SOPS_AGE_KEY")
    if key_text is None:
        found.unused.append("SOPS_AGE_KEY")
    else:
        try:
            found.add("SOPS_AGE_KEY", parse_identity_file(
                "\n".join(split_identity_list(key_text)), location="SOPS_AGE_KEY"))
        except MasterKeyError as exc:
            found.errors.append(exc.message)

    key_file = env.get("SOPS_AGE_KEY_FILE")
    if key_file is None:
        found.unused.append("SOPS_AGE_KEY_FILE")
    else:
        label = f"SOPS_AGE_KEY_FILE ({key_file})"
        _from_file(found, label, key_file, idfile(label), must_exist=True)

    from_command("SOPS_AGE_KEY_CMD", idfile("SOPS_AGE_KEY_CMD"))

    default = _default_key_path(env)
    if default is not None:
        _from_file(found, default, default, idfile(default), must_exist=False)
    return found
