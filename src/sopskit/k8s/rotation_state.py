"""The persisted state of a key rotation, so an interrupted rotation can be finished.

Stored in ``.sopskit/rotation.json`` at the repository root (the directory gets its own
``.gitignore`` of ``*``, so the file is never committed). It records which step is done,
the Secret, the rule, the old and new *recipients* and the files already re-keyed in the
current step: public data only. The new private key is never written here; after the step
that stores both identities in the cluster, a resume reads it back from the cluster.
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
    "config_both",    # .sops.yaml lists old and new
    "files_both",     # every file under the rule is encrypted for old and new
    "cluster_both",   # the cluster Secret holds old and new identities (the point of no return)
    "verified",       # every file opens with the new identity alone
    "config_new",     # .sops.yaml lists only the new recipient
    "files_new",      # every file is encrypted for the new recipient only
    "cluster_new",    # the cluster Secret holds the new identity only: done
)


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


__all__ = ["STEPS", "RotationState", "clear_state", "load_state", "save_state", "state_path"]
