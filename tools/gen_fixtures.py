#!/usr/bin/env python3
"""Generates the high-precision fixtures of rheano's accuracy tests (mpmath, 80 digits).

Deterministic: fixed seeds, so running it again rewrites identical files.
Usage: python3 tools/gen_fixtures.py   (needs mpmath; writes crates/rheano/tests/fixtures/)
Each activation file has lines `x truth` (Python reprs; float32 files hold float32 values);
the truth is the mathematical function correctly rounded to the dtype.
"""
import os
import random
from mpmath import mp, mpf

mp.dps = 80
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rheano", "tests", "fixtures")
SELU_ALPHA = mpf("1.6732632423543772848170429916717")
SELU_SCALE = mpf("1.0507009873554804934193349852946")
INF = float("inf")


def round_to(v, dtype):
    """Correctly rounds an mpf to float64 or float32 (with subnormals and overflow)."""
    if v != v:
        return float("nan")
    if dtype == "float64":
        return float(v)
    if v == 0:
        return 0.0
    mant_bits, emin, maxv = 24, -126, mpf(2) ** 128 * (1 - mpf(2) ** -25)
    a = abs(v)
    if a >= maxv:
        return INF if v > 0 else -INF
    e = int(mp.floor(mp.log(a, 2)))
    e = max(e, emin)
    q = mpf(2) ** (e - mant_bits + 1)
    r = mp.nint(v / q) * q  # round half to even
    return float(r)


def mp_sigmoid(x):
    if x == INF:
        return mpf(1)
    if x == -INF:
        return mpf(0)
    return 1 / (1 + mp.exp(-mpf(x)))


def mp_softplus(x):
    if x == INF:
        return mpf(INF)
    if x == -INF:
        return mpf(0)
    x = mpf(x)
    return x + mp.log1p(mp.exp(-x)) if x > 0 else mp.log1p(mp.exp(x))


def mp_softsign(x):
    if abs(x) == INF:
        return mpf(1) if x > 0 else mpf(-1)
    x = mpf(x)
    return x / (1 + abs(x))


def mp_elu(x):
    if x == INF:
        return mpf(INF)
    if x == -INF:
        return mpf(-1)
    x = mpf(x)
    return x if x > 0 else mp.expm1(x)


def mp_selu(x):
    if x == INF:
        return mpf(INF)
    if x == -INF:
        return -SELU_SCALE * SELU_ALPHA
    x = mpf(x)
    return SELU_SCALE * (x if x > 0 else SELU_ALPHA * mp.expm1(x))


def mp_log_sigmoid(x):
    return -mp_softplus(-x)


def mp_log1m_sigmoid(x):
    return -mp_softplus(x)


FUNCS = {
    "sigmoid": mp_sigmoid,
    "softplus": mp_softplus,
    "softsign": mp_softsign,
    "elu": mp_elu,
    "selu": mp_selu,
    "log_sigmoid": mp_log_sigmoid,
    "log1m_sigmoid": mp_log1m_sigmoid,
}

TRAPS = [0.0, 1e-8, 1.0, 20.0, 36.0, 37.0, 88.7, 89.0, 709.0, 710.0, 745.0, 1e10, INF]


def inputs(dtype, rng):
    if dtype == "float64":
        subn = [5e-324, 1e-310, 2.2250738585072014e-308]
        lo, hi, big = -323, 308, 1.7976931348623157e308
    else:
        subn = [1.401298464324817e-45, 1e-40, 1.1754943508222875e-38]
        lo, hi, big = -45, 38, 3.4028234663852886e38
    xs = []
    for t in TRAPS + subn + [big, 0.5, 2.0, 15.0, 16.0, 17.0, 19.0, 30.0, 31.0, 40.0, 100.0, 800.0, 1000.0]:
        xs += [t, -t]
    for _ in range(900):
        xs.append(rng.choice([-1, 1]) * 10 ** rng.uniform(lo, hi))
    for _ in range(600):
        xs.append(rng.uniform(-60, 60))
    for _ in range(300):
        xs.append(rng.uniform(-800, 800))
    out = []
    for x in xs:
        x = round_to(mpf(x), dtype) if abs(x) != INF else x
        if abs(x) <= big or abs(x) == INF:
            out.append(x)
    out.append(float("nan"))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for dtype in ("float64", "float32"):
        xs = inputs(dtype, random.Random(12345 if dtype == "float64" else 54321))
        for name, f in FUNCS.items():
            path = os.path.join(OUT, f"{name}_{dtype}.txt")
            with open(path, "w") as fh:
                for x in xs:
                    y = float("nan") if x != x else round_to(f(x), dtype)
                    fh.write(f"{x!r} {y!r}\n")
    # Softmax rows: (row, truth row), and the crossentropy of softmax from logits.
    rng = random.Random(777)
    rows = [
        [1000.0, 1000.0], [-1000.0, 0.0, 1000.0], [1e300, 1e300, 1e300], [0.0, 0.0, 1000.0],
        [-INF, 0.0, 1.0], [1.0, 2.0, 3.0], [-745.0, 0.0], [1e4, -1e4, 0.0, 5.0],
    ]
    for _ in range(60):
        n = rng.randint(2, 12)
        scale = 10 ** rng.uniform(-3, 4)
        rows.append([rng.uniform(-1, 1) * scale for _ in range(n)])
    for dtype in ("float64", "float32"):
        with open(os.path.join(OUT, f"softmax_{dtype}.txt"), "w") as fh:
            for row in rows:
                r = [round_to(mpf(v), dtype) if abs(v) != INF else v for v in row]
                if dtype == "float32" and any(3.4e38 < abs(v) < INF for v in row):
                    continue
                m = max(mpf(v) for v in r if v != -INF)
                imax = [mpf(v) for v in r].index(m)
                # log s = log1p(sum of the other terms): exact even when they are tiny.
                rest = sum(mp.exp(mpf(v) - m) for j, v in enumerate(r) if v != -INF and j != imax)
                s = 1 + rest
                ls = mp.log1p(rest)
                sm = [round_to(mp.exp(mpf(v) - m) / s, dtype) if v != -INF else 0.0 for v in r]
                lsm = [round_to((mpf(v) - m) - ls, dtype) if v != -INF else -INF for v in r]
                label = rng.randrange(len(r))
                nll = round_to((m - mpf(r[label])) + ls, dtype) if r[label] != -INF else INF
                fh.write(" ".join(repr(v) for v in r) + " | " + " ".join(repr(v) for v in sm)
                         + " | " + " ".join(repr(v) for v in lsm) + f" | {label} {nll!r}\n")


if __name__ == "__main__":
    main()
