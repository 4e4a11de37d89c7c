"""Shamir secret sharing over GF(2^8), compatible with sops's ``shamir`` package.

sops forked HashiCorp Vault's implementation: the AES field (x^8+x^4+x^3+x+1), one random
polynomial of degree ``threshold - 1`` per secret byte with that byte as constant term, and
shares encoded as ``len(secret) + 1`` bytes: the y values in order, then the x coordinate.
Share ``i`` (0-based) is evaluated at ``x = i + 1``, so a 32-byte data key gives 33-byte
shares, each of which the master keys of one key group encrypt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sopskit.errors import SopsError


class ShamirError(SopsError):
    """Invalid split parameters or inconsistent shares."""


def _build_tables() -> tuple[list[int], list[int]]:
    exp = [0] * 512
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        # multiply by the generator 3 in GF(2^8) with the AES polynomial
        x2 = x << 1
        if x2 & 0x100:
            x2 ^= 0x11B
        x = x2 ^ x
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


_EXP, _LOG = _build_tables()


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    result = 0
    for c in reversed(coefficients):
        result = gf_mul(result, x) ^ c
    return result


def split(secret: bytes, parts: int, threshold: int, *, rng: Callable[[int], bytes]) -> list[bytes]:
    """Split ``secret`` into ``parts`` shares of which ``threshold`` recover it."""
    if parts < threshold:
        raise ShamirError("the number of parts cannot be less than the threshold")
    if parts > 255:
        raise ShamirError("the number of parts cannot exceed 255")
    if threshold < 2:
        raise ShamirError("the threshold must be at least 2")
    if not secret:
        raise ShamirError("cannot split an empty secret")
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for i in range(parts):
        shares[i][len(secret)] = i + 1
    for idx, byte in enumerate(secret):
        coefficients = [byte, *rng(threshold - 1)]
        for i in range(parts):
            shares[i][idx] = _evaluate(coefficients, i + 1)
    return [bytes(s) for s in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """Recover the secret from at least two shares (Lagrange interpolation at x = 0)."""
    if len(shares) < 2:
        raise ShamirError("less than two parts cannot be used to reconstruct the secret")
    length = len(shares[0])
    if length < 2 or any(len(s) != length for s in shares):
        raise ShamirError("all parts must be the same length and at least two bytes")
    xs = [s[-1] for s in shares]
    if len(set(xs)) != len(xs):
        raise ShamirError("duplicate part detected")
    secret = bytearray(length - 1)
    for idx in range(length - 1):
        value = 0
        for i, xi in enumerate(xs):
            basis = 1
            for j, xj in enumerate(xs):
                if i != j:
                    basis = gf_mul(basis, gf_div(xj, xj ^ xi))
            value ^= gf_mul(shares[i][idx], basis)
        secret[idx] = value
    return bytes(secret)
