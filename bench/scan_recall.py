"""Scanner recall and false positives on gitleaks's published per-rule examples (run by hand).

gitleaks validates each of its rules against true-positive (``tps``) and false-positive
(``fps``) examples written in Go under ``cmd/generate/config/rules/*.go``. This script reads
them at run time from a local git mirror of gitleaks (nothing is copied into this project),
evaluates the Go expressions it can parse honestly (string literals, concatenation,
``utils.GenerateSampleSecrets`` / ``GenerateSampleSecret`` expanded with the templates read
from the mirror's ``utils/generate.go``, ``secrets.NewSecret(regex)`` sampled from the regex,
``fmt.Sprintf``, ``append``, local variables) and skips, and counts, what it cannot (loops,
path-only rules, unknown helpers). Each example is written to its own file; sopskit scans the
directory once, and, when ``--gitleaks`` names a gitleaks binary, gitleaks does too.

An example counts as detected when the tool reports any finding in its file (rule names differ
between tools; gitleaks's own validation also asks "at least one finding").

    .venv/bin/python bench/scan_recall.py --mirror /work/.mirror/gitleaks+gitleaks/repo \\
        [--gitleaks /path/to/gitleaks] [--per-rule] [--show-misses RULE]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

try:
    import re._parser as sre_parse  # type: ignore[import-not-found]
    from re._constants import MAXREPEAT  # type: ignore[import-not-found]
except ImportError:  # Python < 3.11
    import sre_parse  # type: ignore[no-redef]
    from sre_constants import MAXREPEAT  # type: ignore[no-redef]

RULES_DIR = "cmd/generate/config/rules"
GENERATE_GO = "cmd/generate/config/utils/generate.go"


class Unparsed(Exception):
    """An expression this reader does not evaluate; the example is skipped and counted."""


# --------------------------------------------------------------------------- regex sampling


def _sample_class(items: list[Any], rng: random.Random) -> str:
    chars: list[str] = []
    negate = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(av))
        elif name == "RANGE":
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif name == "CATEGORY":
            cat = str(av)
            chars.extend({"CATEGORY_DIGIT": "0123456789",
                          "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
                          "CATEGORY_SPACE": " "}.get(cat, "x"))
    if negate:
        pool = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in chars]
        return rng.choice(pool)
    if not chars:
        raise Unparsed("empty class")
    return rng.choice(chars)


def _sample(tree: Any, rng: random.Random) -> str:
    out: list[str] = []
    for op, av in tree:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if av != ord("a") else "b")
        elif name == "ANY":
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789"))
        elif name == "IN":
            out.append(_sample_class(av, rng))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            hi = lo + 1 if hi == MAXREPEAT else hi
            out.extend(_sample(sub, rng) for _ in range(rng.randint(lo, hi)))
        elif name == "SUBPATTERN":
            out.append(_sample(av[-1], rng))
        elif name == "BRANCH":
            out.append(_sample(rng.choice(av[1]), rng))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise Unparsed(f"regex op {name}")
    return "".join(out)


def sample_regex(pattern: str, rng: random.Random) -> str:
    """A random string matching ``pattern`` (reggen's behaviour: unbounded repeats add <= 1)."""
    try:
        tree = sre_parse.parse(pattern)
    except re.error as exc:
        raise Unparsed(f"regex {pattern!r}: {exc}") from None
    return _sample(tree, rng)


# --------------------------------------------------------------------------- Go tokens

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+|//[^\n]*|/\*.*?\*/)
  | (?P<nl>\n)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<rune>'(?:\\.|[^'\\\n])+')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<num>[0-9]+)
  | (?P<op>:=|\.\.\.|[-+*/%=(){}\[\],;:&|!<>.])
""", re.S | re.X)


def tokenize(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            out.append(("op", src[pos]))
            pos += 1
            continue
        kind = m.lastgroup or "op"
        if kind != "ws":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def go_string(tok: tuple[str, str]) -> str:
    kind, text = tok
    if kind == "raw":
        return text[1:-1].replace("\r", "")
    body = text[1:-1]
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", _unescape, body)


def _unescape(m: re.Match[str]) -> str:
    e = m.group(1)
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a", "b": "\b",
              "f": "\f", "v": "\v"}
    if e in simple:
        return simple[e]
    if e[0] in "xuU":
        return chr(int(e[1:], 16))
    if e.isdigit():
        return chr(int(e, 8))
    return e


# --------------------------------------------------------------------------- Go expressions


class Evaluator:
    """Evaluates the small expression language gitleaks's rule examples are written in."""

    def __init__(self, toks: list[tuple[str, str]], env: dict[str, Any], templates: list[str],
                 rng: random.Random) -> None:
        self.toks, self.env, self.templates, self.rng = toks, env, templates, rng
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def skip_nl(self) -> None:
        while self.peek()[0] == "nl":
            self.i += 1

    def expect(self, text: str) -> None:
        self.skip_nl()
        if self.peek()[1] != text:
            raise Unparsed(f"expected {text!r}, got {self.peek()[1]!r}")
        self.i += 1

    def expr(self) -> Any:
        value = self.primary()
        while self.peek()[1] == "+":
            self.i += 1
            self.skip_nl()
            right = self.primary()
            if not (isinstance(value, str) and isinstance(right, str)):
                raise Unparsed("+ on non-strings")
            value += right
        return value

    def args(self) -> list[Any]:
        self.expect("(")
        out: list[Any] = []
        self.skip_nl()
        while self.peek()[1] != ")":
            v = self.expr()
            self.skip_nl()
            if self.peek()[1] == "...":
                self.i += 1
                if not isinstance(v, list):
                    raise Unparsed("spread of non-list")
                out.append(("spread", v))
            else:
                out.append(v)
            self.skip_nl()
            if self.peek()[1] == ",":
                self.i += 1
                self.skip_nl()
        self.i += 1
        return out

    def primary(self) -> Any:
        self.skip_nl()
        kind, text = self.peek()
        if kind in ("str", "raw"):
            self.i += 1
            return go_string((kind, text))
        if kind == "num":
            self.i += 1
            return int(text)
        if text == "[" and self.peek(1)[1] == "]" and self.peek(2)[1] == "string":
            self.i += 3
            return self.composite()
        if text in ("nil",):
            self.i += 1
            return []
        if kind == "ident":
            self.i += 1
            if self.peek()[1] == "(":
                return self.call(text, self.args())
            if text in self.env:
                return self.env[text]
            raise Unparsed(f"unknown name {text}")
        raise Unparsed(f"unexpected token {text!r}")

    def composite(self) -> list[str]:
        self.expect("{")
        out: list[str] = []
        self.skip_nl()
        while self.peek()[1] != "}":
            v = self.expr()
            if not isinstance(v, str):
                raise Unparsed("non-string list element")
            out.append(v)
            self.skip_nl()
            if self.peek()[1] == ",":
                self.i += 1
            self.skip_nl()
        self.i += 1
        return out

    def _sprintf(self, fmt: str, args: list[Any]) -> str:
        it = iter(args)

        def sub(m: re.Match[str]) -> str:
            if m.group() == "%%":
                return "%"
            try:
                return str(next(it))
            except StopIteration:
                raise Unparsed("Sprintf arity") from None
        return re.sub(r"%%|%[-+# 0-9.]*[svdqx]", sub, fmt)

    def call(self, name: str, args: list[Any]) -> Any:
        flat = [a for a in args if not (isinstance(a, tuple) and a[0] == "spread")]
        short = name.rsplit(".", 1)[-1]
        classes = {"Numeric": "[0-9]", "Hex": "[a-f0-9]", "AlphaNumeric": "[a-z0-9]",
                   "AlphaNumericExtendedShort": "[a-z0-9_-]", "AlphaNumericExtended": r"[a-z0-9=_\-]",
                   "AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]"}
        if name == "append":
            base = list(args[0]) if isinstance(args[0], list) else None
            if base is None:
                raise Unparsed("append to non-list")
            for a in args[1:]:
                base.extend(a[1] if isinstance(a, tuple) else [a])
            return base
        if name.startswith("utils.") and short in classes:
            return f"{classes[short]}{{{flat[0]}}}"
        if short == "Hex8_4_4_4_12":
            return r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name in ("secrets.NewSecret", "newPlausibleSecret"):
            for _ in range(50):
                s = sample_regex(str(flat[0]), self.rng)
                if name == "secrets.NewSecret" or re.search(r"[1-9]", s):
                    return s
            raise Unparsed("no plausible secret")
        if name == "utils.GenerateSampleSecrets":
            ident, secret = str(flat[0]), str(flat[1])
            return [t.replace("{i}", ident).replace("{I}", ident.upper()).replace("{s}", secret)
                    for t in self.templates]
        if name == "utils.GenerateSampleSecret":
            return f'{flat[0]}_api_token = "{flat[1]}"'
        if name == "fmt.Sprintf":
            return self._sprintf(str(flat[0]), flat[1:])
        if name == "strings.Repeat":
            return str(flat[0]) * int(flat[1])
        if name == "strings.ToUpper":
            return str(flat[0]).upper()
        if name == "strings.ToLower":
            return str(flat[0]).lower()
        raise Unparsed(f"call {name}")


def sample_templates(generate_go: str) -> list[str]:
    """The active (not commented out) templates of ``GenerateSampleSecrets`` in generate.go."""
    body = generate_go.split("func GenerateSampleSecrets", 1)[1].split("replacer :=", 1)[0]
    out: list[str] = []
    for line in body.splitlines():
        if line.strip().startswith("//"):
            continue
        toks = [t for t in tokenize(line) if t[0] != "nl"]
        if len(toks) >= 3 and toks[0][0] in ("str", "raw") and toks[1][1] == ":" and toks[2][0] in ("str", "raw"):
            out.append(go_string(toks[2]))
    return out


# --------------------------------------------------------------------------- rule files


def _functions(toks: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    i = 0
    while i < len(toks):
        if toks[i] == ("ident", "func") and i + 1 < len(toks) and toks[i + 1][0] == "ident":
            name = toks[i + 1][1]
            j = i + 2
            while j < len(toks) and toks[j][1] != "{":
                j += 1
            depth, k = 0, j
            while k < len(toks):
                if toks[k][1] == "{":
                    depth += 1
                elif toks[k][1] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            out.append((name, toks[j + 1:k]))
            i = k + 1
        else:
            i += 1
    return out


def extract(mirror: str, seed: int = 1) -> tuple[dict[str, dict[str, list[str]]], dict[str, Any]]:
    """rule id -> {"tp": [...], "fp": [...]} and coverage counters."""
    def show(path: str) -> str:
        return subprocess.run(["git", "--git-dir", mirror, "show", f"HEAD:{path}"], check=True,
                              capture_output=True, text=True).stdout
    names = subprocess.run(["git", "--git-dir", mirror, "ls-tree", "--name-only", f"HEAD:{RULES_DIR}"],
                           check=True, capture_output=True, text=True).stdout.split()
    templates = sample_templates(show(GENERATE_GO))
    rng = random.Random(seed)
    examples: dict[str, dict[str, list[str]]] = {}
    cov: dict[str, Any] = {"files": 0, "rule_functions": 0, "path_rules": 0, "unparsed_statements": 0,
                           "unparsed": [], "templates": len(templates)}
    for name in names:
        if not name.endswith(".go") or name.endswith("_test.go"):
            continue
        cov["files"] += 1
        toks = tokenize(show(f"{RULES_DIR}/{name}"))
        for fname, body in _functions(toks):
            if not any(t == ("ident", "utils.Validate") or t == ("ident", "utils.ValidateWithPaths")
                       for t in body):
                continue
            if ("ident", "utils.ValidateWithPaths") in body:
                cov["path_rules"] += 1
                continue
            ids = [go_string(body[k + 2]) for k in range(len(body) - 2)
                   if body[k][1] == "RuleID" and body[k + 1][1] == ":" and body[k + 2][0] in ("str", "raw")]
            rule_id = ids[0] if ids else fname
            cov["rule_functions"] += 1
            env: dict[str, Any] = {"tps": [], "fps": []}
            k = 0
            while k < len(body):
                kind, text = body[k]
                if kind == "ident" and k + 1 < len(body) and body[k + 1][1] in (":=", "=") \
                        and (k == 0 or body[k - 1][0] == "nl" or body[k - 1][1] in ("{", ";")):
                    ev = Evaluator(body, env, templates, rng)
                    ev.i = k + 2
                    try:
                        env[text] = ev.expr()
                        k = ev.i
                        continue
                    except (Unparsed, IndexError, ValueError, TypeError) as exc:
                        if text in ("tps", "fps"):
                            cov["unparsed_statements"] += 1
                            cov["unparsed"].append(f"{rule_id}.{text}: {exc}")
                k += 1
            entry = examples.setdefault(rule_id, {"tp": [], "fp": []})
            entry["tp"].extend(v for v in env["tps"] if isinstance(v, str))
            entry["fp"].extend(v for v in env["fps"] if isinstance(v, str))
    return examples, cov


# --------------------------------------------------------------------------- scanning


def write_examples(root: Path, examples: dict[str, dict[str, list[str]]]) -> dict[str, tuple[str, str]]:
    where: dict[str, tuple[str, str]] = {}
    for rule, kinds in examples.items():
        for kind, texts in kinds.items():
            for n, text in enumerate(texts):
                rel = f"{kind}/{rule}/{n}.txt"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(text + "\n")
                where[rel] = (rule, kind)
    return where


def sopskit_hits(root: Path) -> set[str]:
    from sopskit.scan import ScanOptions, scan

    report = scan(ScanOptions(paths=[root], sops_config=False))
    return {f.path for f in report.findings}


def gitleaks_hits(binary: str, root: Path) -> set[str]:
    report = root.parent / "gitleaks.json"
    subprocess.run([binary, "dir", str(root), "--no-banner", "--exit-code", "0", "--report-format", "json",
                    "--report-path", str(report), "--log-level", "error"], check=True)
    hits = json.loads(report.read_text() or "[]")
    return {Path(h["File"]).resolve().relative_to(root.resolve()).as_posix() for h in hits}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", default="/work/.mirror/gitleaks+gitleaks/repo")
    ap.add_argument("--gitleaks", help="a gitleaks binary to run side by side")
    ap.add_argument("--per-rule", action="store_true")
    ap.add_argument("--show-misses", metavar="RULE", help="print missed/flagged examples of RULE (local only)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="write the examples under DIR (kept, for reading findings by hand) instead of a temp dir")
    args = ap.parse_args()
    examples, cov = extract(args.mirror, args.seed)
    tools: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="scan-recall-") as tmp:
        root = (args.keep or Path(tmp)) / "examples"
        root.mkdir(parents=True, exist_ok=True)
        where = write_examples(root, examples)
        tools["sopskit"] = sopskit_hits(root)
        if args.gitleaks:
            tools["gitleaks"] = gitleaks_hits(args.gitleaks, root)
    per: dict[str, dict[str, list[int]]] = {t: defaultdict(lambda: [0, 0, 0, 0]) for t in tools}
    for rel, (rule, kind) in where.items():
        for tool, hits in tools.items():
            row = per[tool][rule]
            if kind == "tp":
                row[0] += 1
                row[1] += rel in hits
            else:
                row[2] += 1
                row[3] += rel in hits
            if args.show_misses == rule and tool == "sopskit" and (kind == "tp") != (rel in hits):
                print(f"--- {kind} {'flagged' if kind == 'fp' else 'missed'}: {rel}")
    n_tp = sum(1 for k in where.values() if k[1] == "tp")
    n_fp = len(where) - n_tp
    print(f"gitleaks mirror: {args.mirror}")
    print(f"coverage: {cov['files']} rule files, {cov['rule_functions']} rules with tps/fps, "
          f"{cov['path_rules']} path-only rules skipped, {cov['unparsed_statements']} tps/fps statements "
          f"not parsed, {cov['templates']} GenerateSampleSecrets templates; "
          f"{n_tp} true and {n_fp} false examples extracted")
    if args.per_rule:
        print(f"{'rule':40} " + " ".join(f"{t + ' tp':>16} {t + ' fp':>12}" for t in tools))
        for rule in sorted(examples):
            cells = []
            for t in tools:
                r = per[t][rule]
                cells.append(f"{r[1]:>7}/{r[0]:<8} {r[3]:>5}/{r[2]:<6}")
            print(f"{rule:40} " + " ".join(cells))
    for t in tools:
        tp = sum(r[0] for r in per[t].values())
        hit = sum(r[1] for r in per[t].values())
        fp = sum(r[2] for r in per[t].values())
        flagged = sum(r[3] for r in per[t].values())
        print(f"{t:9} recall {hit}/{tp} = {hit / max(tp, 1):.3f}   false positives {flagged}/{fp}")
    if cov["unparsed"]:
        print("not parsed: " + "; ".join(cov["unparsed"][:40]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
