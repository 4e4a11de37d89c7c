"""Helpers every sops-style command needs: input, config, key context, output."""

from __future__ import annotations

import os
import sys

from sopskit.errors import ConflictingParametersError, InputError, NoFileSpecifiedError

TYPE_CHECKING = False
if TYPE_CHECKING:  # imported lazily at run time: only the command that needs them pays
    import argparse

    from sopskit.config import SopsConfig
    from sopskit.ops.request import KeyContext

STDIN_NAMES = (None, "-", "/dev/stdin")


def is_stdin(path: str | None) -> bool:
    return path in STDIN_NAMES


def read_source(path: str | None, *, for_update: bool = False) -> bytes:
    """The bytes of the input file, or of stdin for ``-`` / no file. ``for_update``: the file
    will be rewritten in place, so lock it and detect a change before the write
    (:func:`sopskit.ops.files.read_for_update`)."""
    if is_stdin(path):
        return sys.stdin.buffer.read()
    assert path is not None
    if not os.path.exists(path):
        raise NoFileSpecifiedError(f"{path}: no such file", hint="check the path, or pass - to read stdin")
    try:
        if for_update and os.path.isfile(path):
            from sopskit.ops.files import read_for_update

            return read_for_update(path)
        with open(path, "rb") as f:  # not pathlib: it costs a cold decrypt ~4 ms of imports
            return f.read()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def input_format(args: argparse.Namespace, path: str | None, *, stdin_default: str = "binary") -> str:
    from sopskit.ops.request import format_for_path

    if getattr(args, "input_type", None):
        return str(args.input_type)
    name = getattr(args, "filename_override", None) or (None if is_stdin(path) else path)
    return format_for_path(name) if name else stdin_default


def output_format(args: argparse.Namespace, fallback: str) -> str:
    return str(getattr(args, "output_type", None) or fallback)


def rule_path(args: argparse.Namespace, path: str | None) -> str | None:
    """The path used to choose the creation rule (``--filename-override`` wins)."""
    override: str | None = getattr(args, "filename_override", None)
    if override:
        return os.path.abspath(override)
    return None if is_stdin(path) else path


def load_sops_config(args: argparse.Namespace, *, rules: bool = True) -> SopsConfig | None:
    """``--config`` / ``SOPS_CONFIG`` / discovery from the working directory; None if absent.
    ``rules=False``: the settings only, creation rules not parsed (see ``parse_config``)."""
    from sopskit.config.discover import load_discovered

    return load_discovered(getattr(args, "config", None), rules=rules)


def require_sops_config(args: argparse.Namespace) -> SopsConfig:
    """As :func:`load_sops_config`, for commands that cannot work without one."""
    from sopskit.errors import ConfigError

    config = load_sops_config(args)
    if config is None:
        raise ConfigError("no .sops.yaml found in this directory or any parent",
                          hint="create one (`sopskit repo init`) or pass --config FILE")
    return config


def store_indent(args: argparse.Namespace, fmt: str, config: object | None = None) -> int | None:
    """``--indent`` wins; then ``stores.<format>.indent`` of .sops.yaml."""
    if getattr(args, "indent", None) is not None:
        return int(args.indent)
    if config is None:
        return None
    attr = {"yaml": "yaml_indent", "json": "json_indent", "binary": "json_binary_indent"}.get(fmt)
    value = getattr(config, attr, None) if attr else None
    return int(value) if value is not None else None


def output_indent(args: argparse.Namespace, fmt: str) -> int | None:
    """The indent for writing ``fmt`` when the command has not loaded .sops.yaml itself.

    The config is read only when it can matter, and a broken one is ignored: only its
    ``stores`` indent is wanted, and that must not stop a decrypt or a set."""
    from sopskit.errors import SopsError

    if getattr(args, "indent", None) is not None or fmt not in ("yaml", "json", "binary"):
        return store_indent(args, fmt)
    try:
        config = load_sops_config(args, rules=False)  # only its stores indents are wanted
    except SopsError:
        config = None
    return store_indent(args, fmt, config)


def key_context(args: argparse.Namespace) -> KeyContext:
    """Key context for decryption; with ``--from-cluster`` the identity comes from the
    cluster's sops-age Secret, held in memory only."""
    from sopskit.ops.request import key_context as make_context

    if getattr(args, "from_cluster", False):
        from sopskit.k8s.identity import fetch_identities

        identities = fetch_identities(
            kubeconfig=getattr(args, "kubeconfig", None), context=getattr(args, "kube_context", None)
        )
        return make_context(identities)
    return make_context()


def write_result(args: argparse.Namespace, data: bytes, *, source: str | None) -> None:
    """stdout, ``--output FILE`` or ``-i`` (atomic replace of the source)."""
    in_place = getattr(args, "in_place", False)
    output = getattr(args, "output", None)
    if in_place and output:
        raise ConflictingParametersError("--in-place and --output cannot be used together")
    if in_place:
        if is_stdin(source):
            raise ConflictingParametersError("--in-place cannot be used with standard input")
        assert source is not None
        from sopskit.ops.files import atomic_write

        atomic_write(source, data)
        return
    if output:
        from sopskit.ops.files import atomic_write

        atomic_write(output, data)
        return
    out = sys.stdout.buffer
    out.write(data)
    out.flush()
