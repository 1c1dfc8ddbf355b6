#!/usr/bin/env bash
# Run the upstream contract tests (tests/unit/test_upstream_contract*.py) against the
# NEWEST releases of python-socketio, python-engineio, Flask and Werkzeug, ignoring
# the upper bounds in pyproject.toml, so that a release that changes a private
# member we use is seen here before users see it.
#
#   bash scripts/check-upstream.sh
#
# Uses its own virtual environment (.cache/upstream-venv, remade each run); the
# project's .venv is not touched. Exits non-zero when a contract test fails.
set -euo pipefail

# shellcheck source=scripts/install-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"
cd "$REPO_ROOT"

venv="$REPO_ROOT/.cache/upstream-venv"
base="$(command -v python3 || command -v python)"
rm -rf "$venv"
mkdir -p "$REPO_ROOT/.cache"
log "upstream: $base -m venv $venv"
"$base" -m venv "$venv" || die "could not make $venv (Debian: apt-get install python3-venv)"
log "upstream: newest python-socketio, python-engineio, Flask, Werkzeug"
"$venv/bin/python" -m pip install -q -U python-socketio python-engineio flask werkzeug \
    gevent gevent-websocket simple-websocket "python-socketio[client]" kombu redis pytest \
    || die "pip install of the newest releases failed"
"$venv/bin/python" -m pip install -q --no-deps -e . || die "pip install -e . failed"
"$venv/bin/python" -m pip list 2>/dev/null \
    | grep -iE '^(python-socketio|python-engineio|flask|werkzeug) ' >&2 || true
log "upstream: pytest tests/unit/test_upstream_contract*.py"
"$venv/bin/python" -m pytest -q -p no:cov tests/unit/test_upstream_contract*.py
