# Shared install steps for scripts/run-tests.sh and scripts/run-example.sh.
# Source this file; do not run it.  Each step is idempotent and skips itself
# when its stamp under .stamps/ says nothing changed.  Set FORCE_INSTALL=1 to
# redo every step.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAMP_DIR="$REPO_ROOT/.stamps"
# The project's own virtual environment (PEP 668 forbids installing into Debian's
# Python). PYTHON=/path/to/python uses another interpreter instead, as it is.
VENV_DIR="${VENV_DIR:-$REPO_ROOT/.venv}"
PYTHON="${PYTHON:-}"

export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_ROOT_USER_ACTION=ignore
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DEBIAN_FRONTEND=noninteractive

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '!!! %s\n' "$*" >&2; exit 1; }

# ensure_venv: make $VENV_DIR with Debian's python3 unless it exists (or PYTHON
# was given), installing python3-venv first when Debian lacks it and we are root.
ensure_venv() {
    if [ -n "$PYTHON" ]; then
        return 0
    fi
    if [ ! -x "$VENV_DIR/bin/python" ]; then
        local base
        base="$(command -v python3 || command -v python || true)"
        [ -n "$base" ] || die "python3 not found: install Python 3.10 or newer"
        "$base" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
            || die "$base is older than Python 3.10"
        log "venv: $base -m venv $VENV_DIR"
        if ! "$base" -m venv "$VENV_DIR" 2>/dev/null; then
            rm -rf "$VENV_DIR"
            [ "$(id -u)" = 0 ] || die "$base -m venv failed: install Debian's python3-venv"
            log "venv: apt-get install python3-venv"
            apt-get update && apt-get install -y python3-venv \
                || die "apt-get install python3-venv failed"
            "$base" -m venv "$VENV_DIR" || die "$base -m venv $VENV_DIR failed"
        fi
    fi
    PYTHON="$VENV_DIR/bin/python"
}

# Fingerprint of the given files plus the interpreter in use.
_fingerprint() {
    {
        "$PYTHON" -c 'import sys; print(sys.executable, sys.version)'
        echo "$REPO_ROOT"
        cat "$@"
    } | sha256sum | cut -d' ' -f1
}

# True when the distribution is installed in editable mode from this checkout.
_editable_here() {
    "$PYTHON" - "$REPO_ROOT" <<'PY'
import json, sys
from importlib import metadata
from pathlib import Path
here = Path(sys.argv[1]).resolve().as_uri().rstrip("/")
# The checkout's own *.egg-info has no direct_url.json: look at every match.
for dist in metadata.distributions(name="flask-socketio-ng"):
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    editable = direct.get("dir_info", {}).get("editable", False)
    if editable and direct.get("url", "").rstrip("/") == here:
        sys.exit(0)
sys.exit(1)
PY
}

# install_python [EXTRAS]: pip install -e ".[EXTRAS]" unless already done.
install_python() {
    local extras="${1:-}" spec="." stamp fp
    ensure_venv
    [ -n "$extras" ] && spec=".[$extras]"
    stamp="$STAMP_DIR/pip-${extras:-base}"
    fp="$(_fingerprint "$REPO_ROOT/pyproject.toml")"
    if [ -z "${FORCE_INSTALL:-}" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fp" ] \
        && _editable_here; then
        log "python: $spec already installed (pyproject.toml unchanged)"
        return 0
    fi
    if [[ "$extras" == *test* ]]; then
        _install_uwsgi
    fi
    log "python: pip install -e '$spec'"
    (cd "$REPO_ROOT" && "$PYTHON" -m pip install -e "$spec") \
        || die "pip install -e '$spec' failed"
    mkdir -p "$STAMP_DIR"
    echo "$fp" >"$stamp"
}

# _install_uwsgi: uWSGI (a test dependency) is compiled by pip, against this
# interpreter's headers and libpython: Debian's python3-dev provides them (and
# gcc), installed when missing and we are root. It is built without pip's wheel
# cache, which would hand a uWSGI built for another Python of the same version
# (e.g. a pyenv build) that cannot load this one's standard library.
_install_uwsgi() {
    local include
    include="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    if [ ! -f "$include/Python.h" ] || ! command -v gcc >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "uWSGI needs $include/Python.h and gcc: install python3-dev and gcc"
        log "python: apt-get install python3-dev gcc (headers to build uWSGI)"
        apt-get update && apt-get install -y python3-dev gcc \
            || die "apt-get install python3-dev gcc failed"
    fi
    if "$PYTHON" -m pip show uwsgi >/dev/null 2>&1; then
        return 0
    fi
    log "python: pip install --no-cache-dir uwsgi (compiled for $PYTHON)"
    "$PYTHON" -m pip install --no-cache-dir 'uwsgi>=2.0.22' || die "pip install uwsgi failed"
}

# install_npm: npm ci (npm install when there is no lock) at the repo root.
install_npm() {
    local stamp="$REPO_ROOT/node_modules/.install-stamp" fp
    if ! command -v npm >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "npm not found (install Node.js 18+ and npm)"
        log "npm: not found, installing Debian nodejs and npm"
        apt-get update && apt-get install -y nodejs npm || die "apt-get install nodejs npm failed"
    fi
    if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 20 ]; then
        log "npm: Node.js $(node --version 2>/dev/null) is older than 20, which playwright-core" \
            "needs: the browser tests will fail (install Node.js 20+, e.g. from NodeSource)"
    fi
    if [ -f "$REPO_ROOT/package-lock.json" ]; then
        fp="$(cat "$REPO_ROOT/package.json" "$REPO_ROOT/package-lock.json" | sha256sum | cut -d' ' -f1)"
    else
        fp="$(sha256sum <"$REPO_ROOT/package.json" | cut -d' ' -f1)"
    fi
    if [ -z "${FORCE_INSTALL:-}" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fp" ]; then
        log "npm: node_modules up to date"
        return 0
    fi
    if [ -f "$REPO_ROOT/package-lock.json" ]; then
        log "npm: npm ci"
        (cd "$REPO_ROOT" && npm ci --no-audit --no-fund) || die "npm ci failed"
    else
        log "npm: npm install (no package-lock.json)"
        (cd "$REPO_ROOT" && npm install --no-audit --no-fund) || die "npm install failed"
    fi
    [ -f "$REPO_ROOT/node_modules/socket.io-client/dist/socket.io.min.js" ] \
        || die "npm: socket.io-client did not install its dist/socket.io.min.js"
    echo "$fp" >"$stamp"
}

# install_chromium: Debian's chromium for the browser tests, when missing and root.
install_chromium() {
    if [ -x /usr/bin/chromium ]; then
        log "chromium: /usr/bin/chromium present"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        log "chromium: /usr/bin/chromium missing and not root: install Debian's chromium for the browser tests"
        return 0
    fi
    log "chromium: apt-get install chromium"
    apt-get update || die "apt-get update failed"
    apt-get install -y chromium || die "apt-get install chromium failed"
    [ -x /usr/bin/chromium ] || die "chromium installed but /usr/bin/chromium is missing"
}

# install_servers: Debian's nginx and redis-server for the live deployment and
# fault tests (tests/integration/test_deploy_*.py, test_scale_*.py), when missing
# and root. uWSGI and gunicorn come from PyPI with the test extra.
install_servers() {
    local missing=()
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    if [ "${#missing[@]}" -eq 0 ]; then
        log "servers: nginx and redis-server present"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        log "servers: ${missing[*]} missing and not root: install them for the live tests"
        return 0
    fi
    log "servers: apt-get install ${missing[*]}"
    apt-get update || die "apt-get update failed"
    apt-get install -y --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
    # Debian starts the packaged services; the tests run their own instances.
    if [[ " ${missing[*]} " == *" nginx "* ]] && [ -f /run/nginx.pid ]; then
        nginx -s quit 2>/dev/null || true
    fi
}

# install_peer: the peer, PyPI Flask-SocketIO 5.7.0, for the drop-in proofs in
# tests/compat/: its sdist (whose test_socketio.py runs against our package) and a
# virtualenv of its own, both under .cache/compat/ (git-ignored, reused). The tests
# create them on first use anyway; doing it here keeps the download out of the test
# timings. Offline, the compat tests skip (and fail under CI=true).
install_peer() {
    log "peer: Flask-SocketIO 5.7.0 sdist and virtualenv in .cache/compat/"
    "$PYTHON" "$REPO_ROOT/tests/compat/peer.py" >/dev/null \
        || log "peer: unavailable (see above): the tests/compat tests will skip, or fail under CI=true"
}
