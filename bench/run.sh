#!/usr/bin/env bash
# Runs W1–W7 of bench/WORKLOADS.md on rheano and its peers (NumPy/SciPy, PyTensor C and Numba,
# JAX), with 1 and 2 threads, and prints one table per workload. Peers are installed with pip
# into bench/.venvs/peers. Pass --quick for fewer repetitions (a smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK="${1:-}"
mkdir -p bench/.venvs bench/results bench/data
if [ ! -x bench/.venvs/peers/bin/python ]; then
  python3 -m venv bench/.venvs/peers
  bench/.venvs/peers/bin/pip install -q numpy scipy scikit-learn pytensor "jax[cpu]" numba threadpoolctl
fi
cargo build --release -p rheano-cli
rm -f bench/results/*.json
for N in 1 2; do
  CPUS=0; [ "$N" = 2 ] && CPUS=0,1
  XLA=""; [ "$N" = 1 ] && XLA="--xla_cpu_multi_thread_eigen=false"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
      OMP_NUM_THREADS=$N OPENBLAS_NUM_THREADS=$N MKL_NUM_THREADS=$N NUMBA_NUM_THREADS=$N XLA_FLAGS="$XLA" \
      taskset -c $CPUS bench/.venvs/peers/bin/python bench/peers.py --threads $N --out bench/results/peers-$N.json ${QUICK:+--quick}
  RAYON_NUM_THREADS=$N taskset -c $CPUS target/release/rheano bench data bench/data json bench/results/rheano-$N.json ${QUICK:+quick}
done
# W6: three fresh processes (bench/WORKLOADS.md); the report takes the best.
for _ in 1 2 3; do taskset -c 0 target/release/rheano compile-time; done | tee bench/results/bench_run-w6.log
bench/.venvs/peers/bin/python bench/report.py bench/results/*.json | tee bench/results/report.md
