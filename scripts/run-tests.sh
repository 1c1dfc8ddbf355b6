#!/usr/bin/env bash
# Install everything the test suite needs, then run it.
#
#   bash scripts/run-tests.sh [PYTEST ARGS...]
#
# Installs (each step skipped when already done): the package with its test
# extra (pip install -e '.[test]'), the JavaScript client and Playwright
# (npm ci), Debian's chromium when /usr/bin/chromium is missing and we are
# root, Debian's nginx and redis-server when missing (same condition), and the
# peer Flask-SocketIO 5.7.0 for tests/compat (its sdist and its own virtualenv).
# Then runs pytest with coverage.  FORCE_INSTALL=1 redoes the installs.
set -euo pipefail

# shellcheck source=scripts/install-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"
cd "$REPO_ROOT"

install_python test
install_npm
install_chromium
install_servers
install_peer

log "pytest: $PYTHON -m pytest --cov=flask_socketio --cov-report=term $*"
rc=0
"$PYTHON" -m pytest --cov=flask_socketio --cov-report=term "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    die "pytest collected no tests (exit code 5)"
fi
exit "$rc"
