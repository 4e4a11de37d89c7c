"""The one table of master-key types: every fact about a key type that is not its crypto.

Each row says, for one backend: its metadata key (``age``, ``kms``...), the ``"module:Class"``
that implements it (imported only when a file or rule uses the type, so no SDK is loaded
here), its command-line flags and environment variable, its ``.sops.yaml`` fields, the record
fields that identify a key, and the pip extra it needs. The metadata reader and writer, the
``.sops.yaml`` parser, the CLI flags, ``rotate --add-*``, ``groups add``, the decryption-order
check, the inventory and the Flux decryption-Secret key names (doctor, policy, repo
init) all read this table, so adding a backend is one module plus one row.

The table lives in the format core (plain data; it imports only the
record base) because the lowest reader, the
metadata codec, sits there; everything above may import it. Three orders matter to sops and
are kept as ranks so a new row needs no edit elsewhere: the order sops loads a group from
metadata (``metadata_rank``), builds a group from CLI flags (``cli_rank``) and from a
``.sops.yaml`` rule (``rule_rank``). Rows without ranks sort after the built-in ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sopskit.record import FrozenRecord

TYPE_CHECKING = False  # typing is not imported at run time: it costs a cold start ~8% (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any, overload

_LAST = 1000


class KeyType(FrozenRecord):
    """One master-key type, as data (immutable).

    A record, not a dataclass or named tuple: the table is built at every start-up, and
    defining either costs a cold ``sopskit decrypt`` milliseconds (docs/performance.md).

    ``name``: metadata key, also the ``key_type`` of records and of ``MasterKey`` classes;
    ``backend``: ``"module:Class"`` of the backend (a :class:`sopskit.keys.base.MasterKeyFactory`);
    ``flags``: command-line flags (``-a``, ``--age``), the last one names ``--add-*``/``--rm-*``;
    ``env``: environment variable read when the flag is not given; ``help``: help text of
    the flag; ``rule_field``: rule-level field of a ``.sops.yaml`` creation rule;
    ``group_field``: field inside a ``key_groups`` entry of a ``.sops.yaml`` rule;
    ``record_id``: record fields that identify the key (public data), joined by
    ``id_format`` (default: the single field); ``extra``: the pip extra that installs the
    backend's SDK (None: nothing optional); ``group_strings_only``: ``key_groups`` entries are
    comma-separated strings only (no mappings); ``always_in_groups``: written (possibly
    empty) in every group of a multi-group file, as sops does; the three ranks: see the
    module docstring; ``flux_secret_key``: the data key of Flux's decryption Secret that
    carries this type's credential: an exact name (``sops.azure-kv``), or a suffix starting
    with a dot (``.agekey``: every key ending so); empty when Flux cannot decrypt the type.
    """

    __slots__ = _fields = (
        "name", "backend", "flags", "env", "help", "rule_field", "group_field", "record_id", "id_format",
        "extra", "group_strings_only", "always_in_groups", "metadata_rank", "cli_rank", "rule_rank",
        "flux_secret_key",
    )

    name: str
    backend: str
    flags: tuple[str, ...]
    env: str
    help: str
    rule_field: str
    group_field: str
    record_id: tuple[str, ...]
    id_format: str
    extra: str | None
    group_strings_only: bool
    always_in_groups: bool
    metadata_rank: int
    cli_rank: int
    rule_rank: int
    flux_secret_key: str

    def __init__(
        self, name: str, backend: str, flags: tuple[str, ...], env: str, help: str, rule_field: str,
        group_field: str, record_id: tuple[str, ...], id_format: str = "", extra: str | None = None,
        group_strings_only: bool = False, always_in_groups: bool = False, metadata_rank: int = _LAST,
        cli_rank: int = _LAST, rule_rank: int = _LAST, flux_secret_key: str = "",
    ) -> None:
        values = (name, backend, flags, env, help, rule_field, group_field, record_id, id_format, extra,
                  group_strings_only, always_in_groups, metadata_rank, cli_rank, rule_rank, flux_secret_key)
        for field, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, field, value)

    @property
    def flag_stem(self) -> str:
        """``age`` for ``--age``: the name in ``--add-age``/``--rm-age``."""
        return self.flags[-1].lstrip("-")

    def key_id(self, fields: Mapping[str, Any]) -> str:
        """The key a record names, as one string (recipient, fingerprint, ARN, URL)."""
        fmt = self.id_format or "{" + self.record_id[0] + "}"
        return fmt.format(**{f: str(fields.get(f, "") or "") for f in self.record_id})


_TABLE: list[KeyType] = [
    KeyType("age", "sopskit.keys.age:AgeKey", ("-a", "--age"), "SOPS_AGE_RECIPIENTS",
            "age recipients (age1… or ssh-ed25519 …), comma separated",
            "age", "age", ("recipient",), group_strings_only=True, always_in_groups=True,
            metadata_rank=6, cli_rank=6, rule_rank=0, flux_secret_key=".agekey"),
    KeyType("pgp", "sopskit.keys.pgp:PgpKey", ("-p", "--pgp"), "SOPS_PGP_FP",
            "PGP fingerprints, comma separated",
            "pgp", "pgp", ("fp",), group_strings_only=True,
            metadata_rank=5, cli_rank=4, rule_rank=1, flux_secret_key=".asc"),
    KeyType("kms", "sopskit.keys.kms:KmsKey", ("-k", "--kms"), "SOPS_KMS_ARN",
            "AWS KMS key ARNs (ARN or ARN+ROLE_ARN), comma separated",
            "kms", "kms", ("arn",), extra="aws",
            metadata_rank=0, cli_rank=0, rule_rank=2, flux_secret_key="sops.aws-kms"),
    KeyType("gcp_kms", "sopskit.keys.gcp_kms:GcpKmsKey", ("--gcp-kms",), "SOPS_GCP_KMS_IDS",
            "GCP KMS resource IDs, comma separated",
            "gcp_kms", "gcp_kms", ("resource_id",), extra="gcp",
            metadata_rank=1, cli_rank=1, rule_rank=3, flux_secret_key="sops.gcp-kms"),
    KeyType("azure_kv", "sopskit.keys.azure_kv:AzureKvKey", ("--azure-kv",), "SOPS_AZURE_KEYVAULT_URLS",
            "Azure Key Vault key URLs, comma separated",
            "azure_keyvault", "azure_keyvault", ("vault_url", "name", "version"),
            id_format="{vault_url}/keys/{name}/{version}", extra="azure",
            metadata_rank=3, cli_rank=3, rule_rank=5, flux_secret_key="sops.azure-kv"),
    KeyType("hc_vault", "sopskit.keys.hc_vault:HcVaultKey", ("--hc-vault-transit",), "SOPS_VAULT_URIS",
            "HashiCorp Vault transit key URIs, comma separated",
            "hc_vault_transit_uri", "hc_vault", ("vault_address", "engine_path", "key_name"),
            id_format="{vault_address}/v1/{engine_path}/keys/{key_name}", extra="vault",
            group_strings_only=True, always_in_groups=True,
            metadata_rank=4, cli_rank=5, rule_rank=6, flux_secret_key="sops.vault-token"),
    KeyType("hckms", "sopskit.keys.hckms:HcKmsKey", ("--hckms",), "SOPS_HUAWEICLOUD_KMS_IDS",
            "HuaweiCloud KMS key IDs (region:uuid), comma separated",
            "hckms", "hckms", ("key_id",), extra="hckms",
            metadata_rank=2, cli_rank=2, rule_rank=4),
]


def register(row: KeyType) -> None:
    """Add a key type (a plug-in backend, or a test's dummy); its name must be new."""
    if any(t.name == row.name for t in _TABLE):
        raise ValueError(f"key type {row.name!r} is already registered")
    _TABLE.append(row)


def unregister(name: str) -> None:
    """Remove a key type added by :func:`register` (tests clean up with it)."""
    _TABLE[:] = [t for t in _TABLE if t.name != name]


def key_types() -> tuple[KeyType, ...]:
    """Every key type, in flag order (the order of ``--help``)."""
    return tuple(_TABLE)


def key_type(name: str) -> KeyType | None:
    """The row of a metadata key type, or None when no backend has that name."""
    for row in _TABLE:
        if row.name == name:
            return row
    return None


def _ranked(attr: str) -> tuple[KeyType, ...]:
    return tuple(sorted(_TABLE, key=lambda t: getattr(t, attr)))  # stable: table order breaks ties


def metadata_order() -> tuple[KeyType, ...]:
    """The order sops loads (and writes) the key types of one group."""
    return _ranked("metadata_rank")


def cli_order() -> tuple[KeyType, ...]:
    """The order sops builds the single group of the command-line key flags."""
    return _ranked("cli_rank")


def rule_order() -> tuple[KeyType, ...]:
    """The order sops builds a group from a ``.sops.yaml`` rule's fields."""
    return _ranked("rule_rank")


def key_id(key_type_name: str, fields: Mapping[str, Any]) -> str:
    """The key a metadata record names (``?`` for a type no backend knows)."""
    row = key_type(key_type_name)
    return row.key_id(fields) if row is not None else "?"


def flux_secret_names() -> tuple[str, ...]:
    """The exact data-key names Flux's decryptor reads (``sops.aws-kms``...), in table order
    (kustomize-controller ``internal/decryptor``; see kubernetes-and-flux-notes.md)."""
    return tuple(t.flux_secret_key for t in _TABLE if t.flux_secret_key and not t.flux_secret_key.startswith("."))


def flux_secret_suffixes() -> tuple[str, ...]:
    """The data-key suffixes Flux's decryptor reads (``.agekey``, ``.asc``)."""
    return tuple(t.flux_secret_key for t in _TABLE if t.flux_secret_key.startswith("."))


def flux_reads(data_key: str) -> bool:
    """Whether Flux's decryptor reads this data key of its decryption Secret (any other name
    is silently ignored, which is why a ``keys.txt`` entry decrypts nothing)."""
    return data_key.endswith(flux_secret_suffixes()) or data_key in flux_secret_names()


def sops_yaml_fields() -> tuple[str, ...]:
    """Every ``.sops.yaml`` field that holds keys, rule-level and in ``key_groups``."""
    return tuple(dict.fromkeys(f for t in rule_order() for f in (t.rule_field, t.group_field)))


class _Names(Sequence[str]):
    """A live view of the metadata key names, in metadata order (reflects :func:`register`)."""

    if TYPE_CHECKING:
        @overload
        def __getitem__(self, index: int) -> str: ...
        @overload
        def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        names = tuple(t.name for t in metadata_order())
        return names[index]

    def __len__(self) -> int:
        return len(_TABLE)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(t.name for t in metadata_order()))

    def __contains__(self, value: object) -> bool:
        return any(t.name == value for t in _TABLE)

    def __repr__(self) -> str:
        return repr(tuple(self))


#: metadata key of each master-key type, in the order sops loads a group (a live view)
KEY_NAMES: Sequence[str] = _Names()
