"""The persisted state of a key rotation, so an interrupted rotation can be finished.

Stored in ``.sopskit/rotation.json`` at the repository root (the directory gets its own
``.gitignore`` of ``*``, so the file is never committed). It records which step is done,
the Secret, the rules, the old and new *recipients*, the files already re-keyed in the
current step and the commits the user pushed at each pause: public data only. The new
private key is never written here; after the step that stores both identities in the
cluster, a resume reads it back from the cluster. ``retired-keys.json`` beside it lists the
recipients (public keys) a finished rotation removed from the cluster.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sopskit.errors import ConfigError
from sopskit.ops.files import atomic_write

STATE_DIR = ".sopskit"
STATE_FILE = "rotation.json"

#: the steps of a rotation, in order; each name says what is true once it is recorded
STEPS = (
    "started",        # old and new recipients known; nothing changed yet
    "config_both",    # every rule listing an old recipient lists the new one too
    "files_both",     # every file under those rules is encrypted for old and new
    "cluster_both",   # the cluster Secret holds old and new identities (the point of no return)
    "pushed_both",    # pause: the user pushed those files and Flux applied them (or was not waited for)
    "verified",       # every file opens with the new identity alone
    "config_new",     # the rules list the new recipient and no old one
    "files_new",      # every file has a new data key, wrapped for the new recipient only
    "pushed_new",     # pause: the user pushed again and Flux applied it
    "cluster_new",    # the cluster Secret holds the new identity only: done
)
#: steps that wait for the outside world (commit, push, Flux); a run stops before them
PAUSES = ("pushed_both", "pushed_new")
RETIRED_FILE = "retired-keys.json"


@dataclass
class RotationState:
    namespace: str
    secret_name: str
    path_regex: str
    old_recipients: list[str]
    new_recipient: str
    step: str = "started"
    #: files already re-keyed during the step in progress (relative to the repo root)
    files_done: list[str] = field(default_factory=list)
    #: path_regex of every rule re-keyed (the one asked for plus every rule listing an old key)
    rules: list[str | None] = field(default_factory=list)
    #: pause step -> the commit confirmed pushed (and applied by Flux, unless not waited for)
    pushed: dict[str, str] = field(default_factory=dict)
    #: whether a run already printed the new private key (it is printed once)
    announced: bool = False

    def reached(self, step: str) -> bool:
        return STEPS.index(self.step) >= STEPS.index(step)

    @property
    def key_is_in_cluster(self) -> bool:
        return self.reached("cluster_both")


def state_path(repo: Path) -> Path:
    return repo / STATE_DIR / STATE_FILE


def load_state(repo: Path) -> RotationState | None:
    path = state_path(repo)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        state = RotationState(**raw)
    except (OSError, ValueError, TypeError):
        raise ConfigError(f"{path}: the rotation state is unreadable",
                          hint="inspect it; delete it only if no rotation is in progress") from None
    if state.step not in STEPS:
        raise ConfigError(f"{path}: unknown rotation step {state.step!r}")
    return state


def save_state(repo: Path, state: RotationState) -> None:
    directory = repo / STATE_DIR
    directory.mkdir(exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# sopskit's local state: never commit it\n*\n", encoding="utf-8")
    text = json.dumps(asdict(state), indent=2, sort_keys=True) + "\n"
    atomic_write(state_path(repo), text.encode("utf-8"), default_mode=0o644)


def clear_state(repo: Path) -> None:
    state_path(repo).unlink(missing_ok=True)


def record_retired(repo: Path, namespace: str, secret_name: str, recipients: list[str], when: str) -> None:
    """Remember (public keys only) that the cluster no longer holds ``recipients``, so
    ``cluster verify`` can fail on any rule that still lists one."""
    path = repo / STATE_DIR / RETIRED_FILE
    entries = _retired_entries(path)
    for recipient in recipients:
        entry = {"secret": f"{namespace}/{secret_name}", "recipient": recipient, "retired_at": when}
        if not any(e.get("recipient") == recipient and e.get("secret") == entry["secret"] for e in entries):
            entries.append(entry)
    (repo / STATE_DIR).mkdir(exist_ok=True)
    text = json.dumps(entries, indent=2, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"), default_mode=0o644)


def retired_recipients(repo: Path, namespace: str, secret_name: str) -> list[str]:
    secret = f"{namespace}/{secret_name}"
    return [str(e["recipient"]) for e in _retired_entries(repo / STATE_DIR / RETIRED_FILE)
            if e.get("secret") == secret and e.get("recipient")]


def _retired_entries(path: Path) -> list[dict[str, str]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


__all__ = [
    "PAUSES",
    "STEPS",
    "RotationState",
    "clear_state",
    "load_state",
    "record_retired",
    "retired_recipients",
    "save_state",
    "state_path",
]
