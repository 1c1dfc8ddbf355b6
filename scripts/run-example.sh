#!/usr/bin/env bash
# Install the package and the JavaScript client, then start the chat example.
#
#   bash scripts/run-example.sh            # http://127.0.0.1:5000/
#   HOST=0.0.0.0 PORT=8000 bash scripts/run-example.sh
#
# FORCE_INSTALL=1 redoes the installs.
set -euo pipefail

# shellcheck source=scripts/install-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"
cd "$REPO_ROOT"

install_python
install_npm

export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-5000}"
log "chat example: http://$HOST:$PORT/ (Ctrl-C to stop)"
exec "$PYTHON" examples/chat/app.py
