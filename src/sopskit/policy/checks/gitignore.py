"""``gitignore-agekey``: the repository's root ``.gitignore`` must ignore ``*.agekey``.

``age-keygen -o prod.agekey`` in a work tree is one ``git add .`` away from a leak; the guard
makes Git refuse it silently. The root ``.gitignore`` is read (not the user's global excludes,
which CI does not have), later lines win, ``!`` negations are honoured. Ignoring ``*.agekey``
passes, and so does ignoring the root ``age.key`` or ``keys.txt`` (the names the common
templates write the key to and ignore). A repository that uses no age key at all (no age
recipient in ``.sops.yaml`` nor in any encrypted file) is "not applicable", and so is one whose
own tooling (``SOPS_AGE_KEY_FILE=...`` in ``.envrc``, ``.env.example``, Taskfiles, mise, scripts (also a shell
script without a suffix, by its ``#!``), or a use of
``$HOME/.config/.../keys.txt`` or of a ``~/....agekey`` file) keeps the key outside the work
tree. When that tooling puts the key inside the repository, that file must be ignored: by its
name, its path below the work tree (``${PROJECT_ROOT}/.env/age.txt`` under ``.env/*``) or an
ignored directory on that path.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from sopskit.detectors.paths import FILL_IN_SUFFIXES
from sopskit.format.recognize import AGE_RECIPIENT_RE
from sopskit.format.textcodec import has_utf16_mark
from sopskit.policy import globs
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.fluxgraph import is_archived
from sopskit.policy.results import Violation

_PROBES = ("prod.agekey", "flux/secrets/prod/prod.agekey")
_CONVENTIONAL = ("age.key", "keys.txt")
#: ``SOPS_AGE_KEY_FILE=...``; ``$(pwd)/``, ``$PWD/``, direnv's ``$(expand_path ...)`` and just's
#: ``justfile_directory() / "..."`` mean the work tree
_KEY_FILE_SETTING = re.compile(
    r"(?<!\$\{)SOPS_AGE_KEY_FILE[\"']?\s*(?::=|[:=])\s*(?:justfile_directory\(\)\s*/\s*)?[\"']?"
    r"(?:\$\(expand_path\s+|\$\(pwd\)/|\$\{?PWD\}?/)?((?:\{\{[^}\n]*\}\}|[^\"'\s)])+)"
)
#: a shell expansion of the variable: only ``${SOPS_AGE_KEY_FILE:-path}`` (or ``:=``) names a file;
#: ``${SOPS_AGE_KEY_FILE:?message}`` only insists that it is set, ``:+`` substitutes something else
_KEY_FILE_EXPANSION_DEFAULT = re.compile(r"\$\{SOPS_AGE_KEY_FILE:?[-=]((?:\$\{[^}]*\}|[^}\"'\s])+)\}")
_HOME_KEY_FILE = re.compile(
    r"(?:~|\$HOME|\$\{HOME\})/\.config/[^\s\"']*keys\.txt"
    # a script that reads the key from the home directory (``cat ~/.local/cluster.agekey | kubectl ...``)
    r"|(?:~|\$HOME|\$\{HOME\})/[^\s\"'|;)]*\.agekey\b"
)
_OUTSIDE = re.compile(
    r"^(?:~|\$HOME|\$\{HOME\}|\{\{\s*env\.HOME|/|\$\{?(?:RUNNER_TEMP|TMPDIR|TMP|TEMP|XDG_CONFIG_HOME|"
    r"XDG_RUNTIME_DIR|USERPROFILE|APPDATA)\b|\$\(mktemp|\$\{\{)"  # ${{ runner.temp }}: a CI expression
)
#: ``${SOPS_AGE_KEY_FILE:-$HOME/...}``: the default is where the key is when nothing overrides it
_DEFAULTED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(.*)$")
#: compared lower-cased (``Justfile``, ``.justfile``, ``taskfile.yml``)
_TOOLING_NAMES = frozenset(name.lower() for name in (
    ".envrc", "Taskfile.yaml", "Taskfile.yml", "Makefile", "justfile", ".justfile", ".mise.toml", "mise.toml",
    # dotenv files (and their committed templates) that the repository's scripts load
    ".env", *(f".env{suffix}" for suffix in FILL_IN_SUFFIXES),
))
_SHELL_SHEBANG = re.compile(r"#!\s*/(?:usr/)?bin/(?:env\s+)?(?:ba|z|k|da)?sh\b")
#: ``.nix``: a flake's or shell.nix's ``shellHook`` exports the variable for the dev shell
_TOOLING_SUFFIXES = (".sh", ".just", ".toml", ".yaml", ".yml", ".envrc", ".nix")
#: Nix's ``${builtins.getEnv "HOME"}`` (devenv ``env.SOPS_AGE_KEY_FILE = "..."``) reads like ``$HOME``
_NIX_GETENV = re.compile(r'\$\{\s*builtins\.getEnv\s+"([A-Za-z_][A-Za-z0-9_]*)"\s*\}')
#: Nix's ``"${toString ./.}/age.key"`` (a ``mkShell`` attribute): the directory of the ``.nix``
#: file, as a path in the work tree (``./age.key`` for a shell.nix at the root)
_NIX_HERE = re.compile(r"\$\{\s*(?:builtins\.)?toString\s+\./?\.?\s*\}/")
#: ``SOPS_AGE_KEY_FILE={{ key_file }}`` in a justfile (the value of ``key_file := "..."``), or
#: ``{{ base_dir }}/...`` in an Ansible task (the playbook's ``base_dir: /opt/k8s``)
_LEADING_INTERPOLATION = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")
#: the whole value is one shell variable (``"$key"``, ``"${key}"``): its value is set elsewhere
_LONE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _key_file_settings(ctx: CheckContext) -> list[tuple[str, str]]:
    """Where the repository's own tooling tells sops to find the age key, each with the directory
    of the file that says so (a relative path in ``flux/decrypt.sh`` may be meant from there)."""
    found: list[tuple[str, str]] = []
    for file in ctx.repo.files:
        if file.name.lower() not in _TOOLING_NAMES and not file.name.endswith(_TOOLING_SUFFIXES) and (
            "." in file.name or not _SHELL_SHEBANG.match(file.text or "")  # script/setup: shell, no suffix
        ):
            continue
        text = file.text or ""
        if file.name.endswith(".nix"):
            here = (f"{file.parent}/" if file.parent else "./").replace("\\", "\\\\")
            text = _NIX_HERE.sub(here, _NIX_GETENV.sub(r"$\1", text))
        if file.is_encrypted or ("SOPS_AGE_KEY_FILE" not in text and "keys.txt" not in text and ".agekey" not in text):
            continue
        found.extend((_interpolated(text, m.group(1)), file.parent) for m in _KEY_FILE_SETTING.finditer(text))
        found.extend((m.group(1), file.parent) for m in _KEY_FILE_EXPANSION_DEFAULT.finditer(text))
        found.extend((m.group(0), file.parent) for m in _HOME_KEY_FILE.finditer(text))
    values = []
    for value, directory in found:
        defaulted = _DEFAULTED.match(value)
        if defaulted:
            value = defaulted.group(1).removesuffix("}")
        if value.endswith("("):
            continue  # an expression this reader does not evaluate (just's source_directory() / ...)
        if value and not value.startswith(("$SOPS_AGE_KEY_FILE", "${SOPS_AGE_KEY_FILE")):
            values.append((value, directory))
    return values


def _interpolated(text: str, value: str) -> str:
    """A leading interpolation (``{{ key_file }}``, ``{{ base_dir }}/keys/age.key``) replaced by
    the variable's value in the same file: a justfile's ``key_file := "..."`` or an Ansible
    playbook's ``vars:`` entry ``base_dir: "/opt/k8s"``; anything else as it is."""
    variable = _LONE_VARIABLE.fullmatch(value)
    if variable is not None:
        # ``SOPS_AGE_KEY_FILE="$key"`` in a script: the value of its ``key="..."`` line, if any
        name = re.escape(variable.group(1) or variable.group(2))
        assignment = re.search(rf"(?m)^\s*(?:export\s+|local\s+|readonly\s+)?{name}=([\"']?)([^\"'\s]+)\1", text)
        return assignment.group(2) if assignment else ""
    interpolation = _LEADING_INTERPOLATION.match(value)
    if interpolation is None:
        return value
    name = re.escape(interpolation.group(1))
    assignment = re.search(
        rf"(?m)^\s*(?:export\s+)?{name}\s*(?::=|:)\s*([\"']?)([^\"'\s{{}}][^\"'\n]*?)\1\s*$", text)
    return assignment.group(2) + value[interpolation.end():] if assignment else value


def is_ignored(gitignore: str, path: str) -> bool:
    """Whether the gitignore lines ignore ``path`` as a file (a directory pattern cannot be the
    file guard): :func:`sopskit.policy.globs.is_ignored`."""
    return globs.is_ignored(globs.ignore_rules(gitignore), path)


#: a leading work-tree variable: ``${PROJECT_ROOT}/``, ``$ROOT_DIR/``, ``./``, mise's
#: ``{{config_root}}/`` (the project directory holding the mise config)
_TREE_PREFIX = re.compile(
    r"^(?:\$\{[A-Za-z_][A-Za-z0-9_]*\}/|\$[A-Za-z_][A-Za-z0-9_]*/|\./|\{\{\s*config_root\s*\}\}/)+")


def _key_path_ignored(rules: list[globs.IgnoreRule], value: str, directory: str = "") -> bool:
    """Whether the key file a tool names (inside the work tree) is ignored: by its name, by its
    path below the work tree (``${PROJECT_ROOT}/.env/age.txt`` under ``.env/*``), or because a
    directory on that path is ignored (``.env/``). A plain relative path (``./.sops/flux.agekey``
    in ``flux/decrypt.sh``) is also read from the tool's own directory, where a script kept
    beside its files is run from (``flux/.sops/**`` guards it)."""
    raw = value.replace("\\", "/")
    path = _TREE_PREFIX.sub("", raw).strip("}")
    candidates = [path]
    if directory and not raw.startswith(("$", "{")) and not path.startswith("../"):
        candidates.append(posixpath.normpath(posixpath.join(directory, path)))
    return any(_path_ignored(rules, candidate) for candidate in candidates)


def _path_ignored(rules: list[globs.IgnoreRule], path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if globs.is_ignored(rules, name) or globs.is_ignored(rules, path):
        return True
    parts = path.split("/")[:-1]
    return any(globs.is_ignored(rules, "/".join(parts[: i + 1]), is_dir=True) for i in range(len(parts)))


def _uses_age(ctx: CheckContext) -> bool:
    """age recipients in a ``.sops.yaml`` (the one in use or one further down, per cluster:
    ``clusters/lab/.sops.yaml``, which sops finds from the files below it) or in a live SOPS
    file: one kept in an archive tree (``.archived/``) is history, not a key anybody still
    decrypts with."""
    root = ctx.repo.root.resolve()
    for config in ctx.sops_configs:
        path = config.path.resolve()
        if path.is_relative_to(root) and is_archived(path.relative_to(root).as_posix()):
            continue
        if any(rule.age_recipients for rule in config.rules):
            return True
    return any(f.is_encrypted and not is_archived(f.rel) and AGE_RECIPIENT_RE.search(f.text or "")
               for f in ctx.repo.files)


def _missing_guard(ctx: CheckContext) -> Iterator[Violation]:
    if not _uses_age(ctx):
        ctx.mark_not_applicable(GITIGNORE_AGEKEY.id, "the repository uses no age key")
        return
    settings = _key_file_settings(ctx)
    inside = [(value, directory) for value, directory in settings if not _OUTSIDE.match(value)]
    if settings and not inside:
        ctx.mark_not_applicable(GITIGNORE_AGEKEY.id, f"the repository keeps its age key outside the work tree "
                                f"({settings[0][0]})")
        return
    ctx.count(GITIGNORE_AGEKEY.id)
    path = ctx.repo.root / ".gitignore"
    raw = path.read_bytes() if path.is_file() else b""
    utf16 = has_utf16_mark(raw)  # git reads .gitignore as UTF-8 bytes: a UTF-16 one ignores nothing
    text = "" if utf16 else raw.decode("utf-8", errors="replace")
    rules = globs.ignore_rules(text)
    guarded = all(globs.is_ignored(rules, probe) for probe in _PROBES)
    if inside:
        if guarded or all(_key_path_ignored(rules, value, directory) for value, directory in inside):
            return
    elif guarded or any(globs.is_ignored(rules, n) for n in _CONVENTIONAL):
        return
    if utf16:
        what = "is saved as UTF-16, which git cannot read, so nothing ignores"
    elif text.strip():
        what = "does not ignore"
    else:
        what = "is empty, so nothing ignores" if path.is_file() else "is missing, so nothing ignores"
    yield Violation(
        GITIGNORE_AGEKEY.id,
        ".gitignore",
        None,
        f"the root .gitignore {what} *.agekey: a generated age key can be committed by accident",
        ("save .gitignore as UTF-8 (git reads no other encoding), then " if utf16 else "")
        + "add a line `*.agekey` to .gitignore (and keep age keys outside the work tree)",
    )


GITIGNORE_AGEKEY = Check(
    id="gitignore-agekey",
    title="Root .gitignore does not ignore *.agekey",
    catches="A repository whose root .gitignore is missing or does not ignore *.agekey files "
    "(a later !pattern that re-includes them counts as not ignored).",
    fix="Add `*.agekey` to the root .gitignore.",
    run=_missing_guard,
)
