"""Per-file cost of a post-quantum age key, run by hand: ``.venv/bin/python bench/age_pq.py [--repeat N]``.

Unwrapping the data key of one SOPS file is one age decryption of a single-stanza file (the
record's ``enc``). This prints, for one ``mlkem768x25519`` stanza (sopskit's native path:
ML-KEM-768 decapsulation from the 64-byte seed, X25519, SHA3-256, the HPKE key schedule,
header MAC, STREAM) and for one ``X25519`` stanza (pyrage), the median of N runs of:

* ``unwrap``: ``AgeKey.decrypt`` with the identity given in memory (dearmour + parse +
  unwrap + payload), what opening one file costs per age record;
* ``wrap``: ``AgeKey.encrypt`` (encrypting a file to that recipient);
* ``parse identity``: turning the identity string into a key object (the PQ seed expansion
  runs ML-KEM key generation, which every unwrap repeats);
and the sizes of the recipient and of the armoured ``enc`` in the file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sopskit.keys.age import AgeKey, _parse_identity, generate_identity  # noqa: E402
from sopskit.keys.base import KeyContext  # noqa: E402

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: imports, first-use initialisation
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    rows = []
    for label, pq in (("X25519 (pyrage)", False), ("mlkem768x25519 (native)", True)):
        identity, recipient = generate_identity(pq=pq)
        key = AgeKey(recipient)
        context = KeyContext(age_identities=[identity], env={})
        record = key.encrypt(DATA_KEY, now=NOW, context=context)
        assert key.decrypt(record, context=context) == DATA_KEY
        rows.append((
            label,
            median_ms(lambda k=key, r=record, c=context: k.decrypt(r, context=c), args.repeat),
            median_ms(lambda k=key, c=context: k.encrypt(DATA_KEY, now=NOW, context=c), args.repeat),
            median_ms(lambda i=identity: _parse_identity(i), args.repeat),
            len(recipient),
            len(record.enc),
        ))
    print(f"median of {args.repeat} runs, {sys.platform}, Python {sys.version.split()[0]}")
    print(f"{'stanza':26} {'unwrap ms':>10} {'wrap ms':>9} {'parse id ms':>12} {'recipient B':>12} {'enc B':>7}")
    for label, unwrap, wrap, parse, rlen, elen in rows:
        print(f"{label:26} {unwrap:10.3f} {wrap:9.3f} {parse:12.3f} {rlen:12d} {elen:7d}")
    print(f"PQ / X25519 unwrap: {rows[1][1] / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
