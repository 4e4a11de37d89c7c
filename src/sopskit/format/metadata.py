"""The ``sops`` metadata block as data, and its conversion to and from plain values.

The core knows master keys only as records (``KeyRecord``: a key type and its on-disk
fields); the backends in :mod:`sopskit.keys` give them meaning. Stores embed the plain
form returned by :func:`metadata_to_plain` (nested ``dict``/``list``/``str``/``int``/
``bool``), flattening it where their format needs to (dotenv, INI).

Writing follows sops 3.13: keys sorted alphabetically at every level, empty key lists
omitted at the top level, ``hc_vault`` and ``age`` always present inside ``key_groups``.
Reading accepts every layout sops 3.x wrote: struct order or sorted, keys matched
case-insensitively, numbers and booleans given as strings (dotenv, INI).
"""

from __future__ import annotations

from collections.abc import Mapping

from sopskit.errors import FormatError
from sopskit.format.codec import normalize_rfc3339
from sopskit.format.keytypes import KEY_NAMES, metadata_order
from sopskit.format.selection import SELECTION_OPTIONS, SelectionRules
from sopskit.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The sops version whose on-disk format sopskit writes.
SOPS_FORMAT_VERSION = "3.13.2"

#: Metadata key of each master-key type, in the order sops loads a group (a live view of
#: the key-type table, :mod:`sopskit.format.keytypes`).
KEY_TYPES = KEY_NAMES


class KeyRecord(Record):
    """One master key as stored: its type and its fields (``recipient``, ``fp``, ``enc``...).

    This and :class:`Metadata` are records, not dataclasses: the decrypt path must not
    import :mod:`dataclasses` (see ``docs/performance.md``)."""

    __slots__ = ("fields", "key_type")
    _fields = ("key_type", "fields")

    def __init__(self, key_type: str, fields: dict[str, Any]) -> None:
        self.key_type = key_type
        self.fields = fields

    @property
    def enc(self) -> str:
        return str(self.fields.get("enc", ""))


class Metadata(Record):
    """Everything in the ``sops`` block, parsed."""

    __slots__ = (
        "key_groups",
        "lastmodified",
        "mac",
        "mac_only_encrypted",
        "rules",
        "shamir_threshold",
        "version",
    )
    _fields = ("key_groups", "lastmodified", "mac", "rules", "shamir_threshold", "mac_only_encrypted", "version")

    def __init__(
        self,
        key_groups: list[list[KeyRecord]],
        lastmodified: str = "",
        mac: str = "",
        rules: SelectionRules | None = None,
        shamir_threshold: int = 0,
        mac_only_encrypted: bool = False,
        version: str = SOPS_FORMAT_VERSION,
    ) -> None:
        self.key_groups = key_groups
        self.lastmodified = lastmodified
        self.mac = mac
        self.rules: SelectionRules = SelectionRules() if rules is None else rules
        self.shamir_threshold = shamir_threshold
        self.mac_only_encrypted = mac_only_encrypted
        self.version = version

    def mac_aad(self) -> bytes:
        """The AAD of the MAC: ``lastmodified`` re-formatted as sops does."""
        return normalize_rfc3339(self.lastmodified).encode()

    def records(self) -> list[KeyRecord]:
        return [r for g in self.key_groups for r in g]


def _sorted_dict(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in sorted(d)}


def _record_to_plain(record: KeyRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in record.fields.items():
        out[k] = _sorted_dict(v) if isinstance(v, Mapping) else v
    return _sorted_dict(out)


def _group_to_plain(group: list[KeyRecord], *, in_groups: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in metadata_order():
        recs = [_record_to_plain(r) for r in group if r.key_type == row.name]
        if recs or (in_groups and row.always_in_groups):
            out[row.name] = recs
    return out


def metadata_to_plain(md: Metadata) -> dict[str, Any]:
    """The ``sops`` block as sops 3.13 writes it (alphabetical order at every level)."""
    out: dict[str, Any] = {}
    if len(md.key_groups) > 1:
        out["key_groups"] = [
            _sorted_dict(_group_to_plain(g, in_groups=True)) for g in md.key_groups
        ]
    elif md.key_groups:
        out.update(_group_to_plain(md.key_groups[0], in_groups=False))
    out["lastmodified"] = md.lastmodified
    out["mac"] = md.mac
    if md.shamir_threshold:
        out["shamir_threshold"] = md.shamir_threshold
    out[md.rules.option] = md.rules.pattern
    if md.mac_only_encrypted:
        out["mac_only_encrypted"] = True
    out["version"] = md.version
    return _sorted_dict(out)


# -- reading --------------------------------------------------------------------------------

def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise FormatError(f"sops metadata: {name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise FormatError(f"sops metadata: {name} must be an integer") from None
            if as_float.is_integer():
                return int(as_float)
    raise FormatError(f"sops metadata: {name} must be an integer")


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "t", "false", "0", "f", ""):
        return value.lower() in ("true", "1", "t")
    if value is None:
        return False
    raise FormatError(f"sops metadata: {name} must be a boolean")


def _fold(d: Mapping[str, Any]) -> dict[str, Any]:
    """Case-insensitive view (sops 3.13 decodes metadata with mapstructure)."""
    return {str(k).lower(): v for k, v in d.items()}


def _records(key_type: str, value: Any) -> list[KeyRecord]:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise FormatError(f"sops metadata: {key_type} must be a list")
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            raise FormatError(f"sops metadata: each {key_type} entry must be a mapping")
        fields = {str(k).lower(): v for k, v in item.items()}
        if key_type == "age":  # sops reads an age record without a recipient as an empty one
            fields.setdefault("recipient", "")
        if "created_at" in fields:
            _check_time(fields["created_at"], f"{key_type}.created_at")
        out.append(KeyRecord(key_type, fields))
    return out


def _group_from_plain(group: Mapping[str, Any]) -> list[KeyRecord]:
    g = _fold(group)
    recs: list[KeyRecord] = []
    for row in metadata_order():
        recs.extend(_records(row.name, g.get(row.name)))
    return recs


def _check_time(value: Any, name: str) -> str:
    text = str(value) if value is not None else ""
    try:
        normalize_rfc3339(text)
    except ValueError:
        raise FormatError(f"sops metadata: {name} is not an RFC 3339 time") from None
    return text


def metadata_from_plain(plain: Mapping[str, Any]) -> Metadata:
    """Parse a ``sops`` block in any layout sops 3.x wrote; raises :class:`FormatError`."""
    if not isinstance(plain, Mapping):
        raise FormatError("sops metadata is not a mapping")
    m = _fold(plain)
    top = _group_from_plain(m)
    if top:
        groups = [top]
    else:
        raw_groups = m.get("key_groups") or []
        if not isinstance(raw_groups, list):
            raise FormatError("sops metadata: key_groups must be a list")
        groups = []
        for g in raw_groups:
            if not isinstance(g, Mapping):
                raise FormatError("sops metadata: each key group must be a mapping")
            groups.append(_group_from_plain(g))
    if not any(groups):
        raise FormatError("no master keys found in the file's sops metadata")
    options = {k: (str(m[k]) if m.get(k) is not None else None) for k in SELECTION_OPTIONS}
    rules = SelectionRules.from_options(options, strict=False)  # sops: a bad pattern matches nothing
    version = m.get("version", "")
    return Metadata(
        key_groups=groups,
        lastmodified=_check_time(m.get("lastmodified"), "lastmodified"),
        mac=str(m.get("mac") or ""),
        rules=rules,
        shamir_threshold=_as_int(m.get("shamir_threshold", 0) or 0, "shamir_threshold"),
        mac_only_encrypted=_as_bool(m.get("mac_only_encrypted", False), "mac_only_encrypted"),
        version=str(version) if version is not None else "",
    )
