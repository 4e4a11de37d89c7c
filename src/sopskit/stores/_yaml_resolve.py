"""yaml.v3 scalar resolution, shared by the YAML loader and emitter.

Why a port: sops decodes plain scalars with yaml.v3's ``resolve`` (YAML 1.2 core schema plus
a few 1.1 leftovers such as ``0755`` octals) and quotes strings on output exactly when that
resolver, or the YAML 1.1 bool / base-60 float check, would read them back as something else.
Both directions must agree with it, or a decrypt/encrypt cycle changes types.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re

from sopskit.format.tree import Value, with_nanoseconds

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MAX = (1 << 64) - 1

#: first characters that may start a non-string plain scalar (yaml.v3 ``resolveTable``)
_HINT_DIGIT = frozenset("+-0123456789")
_HINT_MAP = frozenset("yYnNtTfFoO~")

_MAP: dict[str, Value] = {
    "true": True, "True": True, "TRUE": True,
    "false": False, "False": False, "FALSE": False,
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    "-0": -0.0, "-0.0": -0.0,
}


# The patterns are compiled on first use (functools.cache): most files need few of them, and
# compiling all at import cost every cold start ~0.7 ms (docs/performance.md).
@functools.cache
def _float_re() -> re.Pattern[str]:
    return re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")


@functools.cache
def _base60_re() -> re.Pattern[str]:
    return re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")


_OLD_BOOLS = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]
)


# Go layouts "2006-1-2T15:4:5.999999999Z07:00" (also 't'), "2006-1-2 15:4:5.999999999", "2006-1-2"
@functools.cache
def _ts_re() -> re.Pattern[str]:
    return re.compile(
        r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
        r"(?:(?P<sep>[Tt ])(?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2}):(?P<S>[0-9]{1,2})"
        r"(?:[.,](?P<f>[0-9]{1,9}))?(?P<z>Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
    )


class UnsupportedIntError(ValueError):
    """An integer outside int64 that yaml.v3 decodes as uint64, which sops cannot walk."""


def _go_parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` without the range check; None on bad syntax."""
    body = text
    sign = 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    low = body[:2].lower()
    if low in ("0x", "0o", "0b"):
        base = {"0x": 16, "0o": 8, "0b": 2}[low]
        body = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base = 8
        body = body[1:]
    if not body or not body.isascii() or not body.isalnum():
        return None
    try:
        return sign * int(body, base)
    except ValueError:
        return None


def _parse_timestamp(text: str) -> _dt.datetime | None:
    if not (len(text) > 4 and text[4] == "-" and text[:4].isdigit() and text[:4].isascii()):
        return None  # what "[0-9]{4}-" matched, without compiling the pattern below
    m = _ts_re().match(text)
    if not m:
        return None
    if m.group("sep") == " " and m.group("z"):
        return None  # the space layout has no zone
    try:
        year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        if m.group("sep") is None:
            return _dt.datetime(year, month, day, tzinfo=_dt.UTC)
        hour, minute, second = int(m.group("H")), int(m.group("M")), int(m.group("S"))
        frac = m.group("f") or ""
        nanos = int((frac + "000000000")[:9]) if frac else 0
        zone = m.group("z")
        tz: _dt.tzinfo = _dt.UTC
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            tz = _dt.timezone(sign * _dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        return with_nanoseconds(_dt.datetime(year, month, day, hour, minute, second, tzinfo=tz), nanos)
    except ValueError:
        return None


def resolve_plain(text: str) -> Value:
    """The value yaml.v3 gives an untagged plain scalar decoded into ``interface{}``.

    Raises :class:`UnsupportedIntError` for integers in the uint64-only range.
    """
    if not text:
        return None
    first = text[0]
    if first in _HINT_MAP or first == ".":
        if text in _MAP:
            return _MAP[text]
        if first == "." and "_" not in text[1:2]:
            try:
                return float(text) if _float_re().match(text.replace("_", "")) else text
            except ValueError:
                return text
        return text
    if first not in _HINT_DIGIT:
        return text
    if text in _MAP:
        return _MAP[text]
    ts = _parse_timestamp(text)
    if ts is not None:
        return ts
    plain = text.replace("_", "")
    number = _go_parse_int(plain) if plain else None
    if number is not None:
        if _INT64_MIN <= number <= _INT64_MAX:
            return number
        if 0 <= number <= _UINT64_MAX:
            raise UnsupportedIntError("integer out of the int64 range")
    if _float_re().match(plain):
        return float(plain)
    return text


def resolves_to_str(text: str) -> bool:
    """True when ``text`` written plain reads back as the same string (yaml.v3 ``stringv``)."""
    if not text:
        return False
    first = text[0]
    if first not in _HINT_DIGIT and first not in _HINT_MAP and first != ".":
        return True
    if text in _OLD_BOOLS:
        return False
    if (first in _HINT_DIGIT) and ":" in text and _base60_re().match(text):
        return False
    try:
        return isinstance(resolve_plain(text), str)
    except UnsupportedIntError:
        return False
