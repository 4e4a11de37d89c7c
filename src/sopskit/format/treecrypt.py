"""Encrypt and decrypt a whole tree given a data key, computing the MAC on the way.

This is sops's ``Tree.Encrypt`` / ``Tree.Decrypt`` walk (``sops.go``): depth first, items in
document order; mapping keys extend the path, list elements share their parent's path;
``None`` is skipped; comments enter the active comment stack of their level, which is
cleared after each non-comment item.

The MAC is SHA-512 over the plaintext bytes of every visited non-comment leaf (or, with
``mac_only_encrypted``, only the encrypted ones after a fixed 32-byte prefix), as upper-case
hex. A leaf counts as a comment for the MAC if it was a comment before encryption or its
decrypted value is a comment (the <=3.13.1 / >=3.13.3 rule; 3.13.2 regressed on list
comments, see the spec section 5.3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sopskit.errors import DecryptionError, EncryptionError, FormatError, SopsError
from sopskit.format.codec import ValueCipher, is_encrypted_value, value_to_bytes
from sopskit.format.selection import SelectionRules
from sopskit.format.tree import Comment, TreeMap, Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha512 as _sha512
else:
    try:  # CPython's own SHA-512: hashlib would load OpenSSL's libcrypto, ~3 ms of every cold start
        from _sha512 import sha512 as _sha512
    except ImportError:  # other interpreters, and CPython >= 3.12 (whose module is _sha2)
        try:
            from _sha2 import sha512 as _sha512
        except ImportError:
            from hashlib import sha512 as _sha512

#: SHA-256("sops"): prepended to the MAC stream when ``mac_only_encrypted`` is set.
MAC_ONLY_ENCRYPTED_PREFIX = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
)

# leaf callback: (value, path, comment stack, is_comment) -> replacement value
_Leaf = Callable[[Value, list[str], list[list[str]], bool], Value]


def _walk_map(node: TreeMap, path: list[str], stack: list[list[str]], leaf: _Leaf) -> None:
    level: list[str] = []
    stack.append(level)
    entries = node.entries
    for i, (key, value) in enumerate(entries):
        if isinstance(key, Comment):
            level.append(key.text)
            out = leaf(key, path, stack, True)
            if isinstance(out, Comment):
                entries[i] = (out, None)
            elif isinstance(out, str):
                entries[i] = (Comment(out, key.inline), None)
            else:  # pragma: no cover - the leaf callbacks below never return other types
                raise FormatError("a comment walked to a non-comment value")
            continue
        if not isinstance(key, str):
            raise FormatError(f"the tree contains a non-string key of type {type(key).__name__}")
        path.append(key)
        new = _walk_value(value, path, stack, leaf)
        path.pop()
        if new is not value:
            entries[i] = (key, new)
        if level:
            level.clear()
    stack.pop()


def _walk_list(node: list[Value], path: list[str], stack: list[list[str]], leaf: _Leaf) -> None:
    level: list[str] = []
    stack.append(level)
    for i, value in enumerate(node):
        is_comment = isinstance(value, Comment)
        if isinstance(value, Comment):
            level.append(value.text)
        new = _walk_value(value, path, stack, leaf)
        if new is not value:
            node[i] = new
        if not is_comment and level:
            level.clear()
    stack.pop()


def _walk_value(value: Value, path: list[str], stack: list[list[str]], leaf: _Leaf) -> Value:
    if isinstance(value, TreeMap):
        _walk_map(value, path, stack, leaf)
        return value
    if isinstance(value, list):
        _walk_list(value, path, stack, leaf)
        return value
    if value is None:
        return None
    return leaf(value, path, stack, isinstance(value, Comment))


def _aad(path: Sequence[str]) -> bytes:
    return ("".join(k + ":" for k in path) if path else ":").encode("utf-8", "surrogateescape")


def _where(path: Sequence[str]) -> str:
    return '"' + ":".join(path) + '"' if path else "the top level"


def encrypt_branches(
    branches: Sequence[TreeMap],
    cipher: ValueCipher,
    rules: SelectionRules,
    *,
    mac_only_encrypted: bool = False,
) -> str:
    """Encrypt ``branches`` in place; return the MAC (upper-case hex) of the plaintext."""
    digest = _sha512()
    if mac_only_encrypted:
        digest.update(MAC_ONLY_ENCRYPTED_PREFIX)
    update = digest.update
    should = rules.should_encrypt
    guard = rules._regex if rules.option == "unencrypted_comment_regex" else None

    def leaf(value: Value, path: list[str], stack: list[list[str]], is_comment: bool) -> Value:
        encrypted = should(path, stack, is_comment)
        if not is_comment and (encrypted or not mac_only_encrypted):
            update(value_to_bytes(value))
        if not encrypted:
            return value
        try:
            out = cipher.encrypt(value, _aad(path))
        except SopsError as exc:
            raise EncryptionError(f"could not encrypt the value at {_where(path)}: {exc}") from None
        if is_comment and guard is not None and guard.search(out):
            raise EncryptionError(
                "an encrypted comment matches unencrypted_comment_regex; change the regex"
            )
        return out

    for branch in branches:
        _walk_map(branch, [], [], leaf)
    return digest.hexdigest().upper()


def decrypt_branches(
    branches: Sequence[TreeMap],
    cipher: ValueCipher,
    rules: SelectionRules,
    *,
    mac_only_encrypted: bool = False,
) -> str:
    """Decrypt ``branches`` in place; return the MAC (upper-case hex) computed over them.

    Comments that should be encrypted but do not decrypt are kept as they are (files from
    old sops versions have plain-text comments), as sops does.
    """
    digest = _sha512()
    if mac_only_encrypted:
        digest.update(MAC_ONLY_ENCRYPTED_PREFIX)
    update = digest.update
    should = rules.should_encrypt

    def leaf(value: Value, path: list[str], stack: list[list[str]], is_comment: bool) -> Value:
        encrypted = should(path, stack, is_comment)
        out: Value = value
        if encrypted:
            if isinstance(value, Comment):
                if is_encrypted_value(value.text):
                    try:
                        out = cipher.decrypt(value.text, _aad(path))
                    except SopsError:
                        out = value
            elif isinstance(value, str):
                try:
                    out = cipher.decrypt(value, _aad(path))
                except SopsError as exc:
                    raise DecryptionError(
                        f"could not decrypt the value at {_where(path)}: {exc}"
                    ) from None
            else:
                raise DecryptionError(
                    f"expected an encrypted value at {_where(path)}, found a plain "
                    f"{type(value).__name__}"
                )
        if not isinstance(out, Comment) and (encrypted or not mac_only_encrypted):
            update(value_to_bytes(out))
        return out

    for branch in branches:
        _walk_map(branch, [], [], leaf)
    return digest.hexdigest().upper()
