"""Per-call overhead of a compiled function on small inputs, for one library.

    python bench/call_overhead.py rheano|theano|pytensor

Prints one JSON line: the best mean time per call (µs) of f(x) = x + 1 on a 10-element float64
vector, and of a two-input, three-op function; kernels on 10 elements take well under 1 µs, so
the figure is the call overhead. bench/run_call_overhead.sh runs every library and prints a table.
"""
import json
import sys
import time

import numpy as np


def build(lib):
    if lib == "rheano":
        import rheano as th
        T = th.tensor
    elif lib == "theano":
        import theano as th
        T = th.tensor
    else:
        import pytensor as th
        import pytensor.tensor as T
    x = T.dvector("x")
    y = T.dvector("y")
    f1 = th.function([x], x + 1)
    f2 = th.function([x, y], T.tanh(x * y) + x)
    return f1, f2


def best_us(call, n=20000, repeats=7):
    for _ in range(1000):
        call()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def main():
    lib = sys.argv[1]
    f1, f2 = build(lib)
    a = np.random.RandomState(0).randn(10)
    b = np.random.RandomState(1).randn(10)
    print(json.dumps({"lib": lib, "x+1 (us)": round(best_us(lambda: f1(a)), 2),
                      "tanh(x*y)+x (us)": round(best_us(lambda: f2(a, b)), 2),
                      "numpy x+1 (us)": round(best_us(lambda: a + 1), 2)}))


if __name__ == "__main__":
    main()
