#!/usr/bin/env bash
# The whole test suite, from a fresh machine: peer tools, a virtual environment, the
# quality gates (ruff, mypy, import-linter) and pytest. Used by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in age gpg rg git-secrets openssl git chromium node npm; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing peer tools: ${need[*]}"
    apt-get update -qq
    pkgs=()
    for tool in "${need[@]}"; do
      case "$tool" in
        gpg) pkgs+=(gnupg) ;; rg) pkgs+=(ripgrep) ;; node) pkgs+=(nodejs) ;; *) pkgs+=("$tool") ;;
      esac
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "warning: missing peer tools (${need[*]}); tests that need them skip (and fail under CI)" >&2
  fi
fi
# kubectl ships with these machines; install Debian's client only where there is none
if ! command -v kubectl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >/dev/null || true
fi

# the npm peer for hybrid post-quantum age keys (tests/keys/test_age_pq_peer.py reads the same prefix)
export SOPSKIT_NPM_PREFIX=${SOPSKIT_NPM_PREFIX:-$HOME/.cache/sopskit-npm}
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$SOPSKIT_NPM_PREFIX/node_modules/age-encryption/package.json" ]; then
    echo "== installing npm peer: age-encryption (>= 0.3) into $SOPSKIT_NPM_PREFIX"
    mkdir -p "$SOPSKIT_NPM_PREFIX"
    npm install --no-audit --no-fund --silent --prefix "$SOPSKIT_NPM_PREFIX" 'age-encryption@>=0.3'
  fi
else
  echo "warning: npm missing; the age-encryption peer tests skip (and fail under CI)" >&2
fi

VENV=${SOPSKIT_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[dev,k8s,aws,scan]'

echo "== ruff"
"$VENV/bin/ruff" check src tests testing bench
echo "== mypy (strict for format, stores, keys, config, ops)"
"$VENV/bin/mypy"
echo "== import-linter (layers)"
"$VENV/bin/lint-imports"
echo "== pytest"
"$VENV/bin/python" -m pytest -n 2 -q "$@"
