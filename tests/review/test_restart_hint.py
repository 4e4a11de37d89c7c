"""After ``set``/``edit`` of a Secret that workloads read from the environment, sopskit prints
the ``kubectl rollout restart`` commands for them (and nothing for other files)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli._support import run
from tests.review._repo import make_repo


def test_set_and_edit_print_restart_hints(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.write_secret("secrets/db.yaml", "db", "app", {"password": "first-Pa55-a1b2c3"})
    repo.write_secret("secrets/lonely.yaml", "lonely", "app", {"password": "lonely-Pa55-d4e5"})
    repo.commit("initial")

    out = run(["set", "secrets/db.yaml", '["stringData"]["password"]', '"second-Pa55-f6a7b8"'],
              env=repo.env, cwd=repo.root)
    assert out.returncode == 0, out.stderr.decode()
    err = out.stderr.decode()
    assert "Secret app/db is read from the environment" in err
    assert "kubectl rollout restart deployment/api -n app" in err
    assert "statefulset/worker" not in err  # a volume consumer sees the change without restart
    assert "second-Pa55" not in err

    quiet = run(["set", "secrets/lonely.yaml", '["stringData"]["password"]', '"other-Pa55-c9d0"'],
                env=repo.env, cwd=repo.root)
    assert quiet.returncode == 0 and quiet.stderr == b""

    editor = tmp_path / "editor.py"
    editor.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[-1])\n"
                      "p.write_text(p.read_text().replace('second-Pa55-f6a7b8', 'third-Pa55-e1f2'))\n")
    env = {**repo.env, "EDITOR": f"{sys.executable} {editor}"}
    edited = run(["edit", "secrets/db.yaml"], env=env, cwd=repo.root)
    assert edited.returncode == 0, edited.stderr.decode()
    assert "kubectl rollout restart deployment/api -n app" in edited.stderr.decode()
