#!/usr/bin/env bash
# Per-call overhead of rheano, Theano 1.0.5 and PyTensor, in one run on this machine.
# Installs the peers into their own virtual environments (bench/.venvs) with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/.venvs
if [ ! -x bench/.venvs/theano/bin/python ]; then
  python3.11 -m venv bench/.venvs/theano
  bench/.venvs/theano/bin/pip install -q numpy==1.23.5 scipy==1.9.3 six theano==1.0.5
fi
if [ ! -x bench/.venvs/pytensor/bin/python ]; then
  python3 -m venv bench/.venvs/pytensor
  bench/.venvs/pytensor/bin/pip install -q pytensor || echo "pytensor could not be installed"
fi
[ -x .venv/bin/python ] || { python3 -m venv .venv; .venv/bin/pip install -q "maturin>=1.5,<2" numpy; }
(cd crates/rheano-py && VIRTUAL_ENV="$PWD/../../.venv" PATH="$PWD/../../.venv/bin:$PATH" maturin develop --release --quiet)
echo "| library | f(x) = x + 1 | tanh(x*y) + x | numpy x + 1 (reference) |"
echo "|---|---|---|---|"
for lib in rheano theano pytensor; do
  case $lib in
    rheano) py=.venv/bin/python ;;
    theano) py=bench/.venvs/theano/bin/python ;;
    pytensor) py=bench/.venvs/pytensor/bin/python ;;
  esac
  out=$(THEANO_FLAGS='blas.ldflags=' "$py" bench/call_overhead.py $lib 2>/dev/null | tail -1) || { echo "| $lib | failed | | |"; continue; }
  "$py" -c "import json,sys; d=json.loads(sys.argv[1]); print('| %s | %.2f us | %.2f us | %.2f us |' % (d['lib'], d['x+1 (us)'], d['tanh(x*y)+x (us)'], d['numpy x+1 (us)']))" "$out"
done
