#!/usr/bin/env bash
# Runs every test: the Rust workspace (cargo test) and the Python package (pytest).
# Sets up what it needs itself: a virtual environment in .venv with maturin, numpy and pytest,
# and the rheano Python package built from crates/rheano-py.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

cargo test --workspace

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check "maturin>=1.5,<2" numpy pytest
(cd crates/rheano-py && VIRTUAL_ENV="$ROOT/.venv" PATH="$ROOT/.venv/bin:$PATH" maturin develop --release --quiet)
.venv/bin/python -m pytest crates/rheano-py/tests -q
