#!/usr/bin/env bash
# Benchmark the in-process test client against Flask-SocketIO 5.x's (see bench/README.md).
# Creates bench/.venv-peer on first use; writes bench/RESULTS-testclient.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python}" bench/run_testclient_bench.py "$@"
