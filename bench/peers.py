"""The peers of bench/WORKLOADS.md (numpy, scipy, pytensor C and numba, jax), one process per
thread count. Also writes the workloads' data as .npy files for `rheano bench`.

    python bench/peers.py --threads N --data bench/data --out bench/results/peers-N.json [--quick]

Thread pinning and the BLAS/OMP variables are set by bench/run.sh before Python starts.
"""
import argparse
import gc
import json
import os
import sys
import time

import numpy as np

RULES = dict(warmup=2, min_runs=7, min_time=1.0, max_runs=200, max_time=30.0)


def measure(fn, warmup=None, min_runs=None, min_time=None):
    warmup = RULES["warmup"] if warmup is None else warmup
    min_runs = RULES["min_runs"] if min_runs is None else min_runs
    min_time = RULES["min_time"] if min_time is None else min_time
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        if len(times) >= min_runs and elapsed >= min_time:
            break
        if len(times) >= RULES["max_runs"] or (elapsed >= RULES["max_time"] and len(times) >= 3):
            break
    return times


def record(workload, case, peer, dtype, threads, times, bytes_=None, flops=None, err=None, note="", ref=False, **extra):
    r = dict(workload=workload, case=case, peer=peer, dtype=dtype, threads=threads, n_runs=len(times), times=times,
             min_s=min(times), median_s=float(np.median(times)), bytes=bytes_, flops=flops, max_abs_err=err,
             note=note, reference_only=ref, loadavg=os.getloadavg()[0])
    r.update(extra)
    return r


# ------------------------------------------------------------------ data (shared with rheano)
def make_data(datadir):
    os.makedirs(datadir, exist_ok=True)
    d = {}
    d["w1_x"] = np.random.default_rng(0).standard_normal(10_000_000) * 4
    d["w2_x"] = np.random.default_rng(1).standard_normal((10000, 1000)) * 3
    rng = np.random.default_rng(2)
    d["w3_z"] = rng.standard_normal(10_000_000) * 2
    d["w3_t"] = (rng.random(10_000_000) < 0.5).astype(np.float64)
    rng = np.random.default_rng(3)
    d["w4_X"] = rng.random((4096, 784))
    d["w4_W"] = 0.01 * rng.standard_normal((784, 10))
    d["w4_y"] = rng.integers(0, 10, 4096).astype(np.int64)
    rng = np.random.default_rng(4)
    d["w5_X"] = rng.random((256, 784))
    lim = 4 * np.sqrt(6 / (784 + 256))
    d["w5_W"] = rng.uniform(-lim, lim, (784, 256))
    d["w5_V"] = rng.uniform(-lim, lim, (256, 784))
    try:
        Xtr, Xte, ytr, yte = digits()
        rng = np.random.default_rng(0)
        d["w7_W1"] = rng.uniform(-np.sqrt(6 / 96), np.sqrt(6 / 96), (64, 32))
        d["w7_W2"] = rng.uniform(-np.sqrt(6 / 42), np.sqrt(6 / 42), (32, 10))
        d["w7_perms"] = np.stack([rng.permutation(len(Xtr)) for _ in range(100)]).astype(np.int64)
        d["w7_Xtr"], d["w7_Xte"], d["w7_ytr"], d["w7_yte"] = Xtr, Xte, ytr, yte
    except ImportError:
        pass
    for k, v in d.items():
        np.save(os.path.join(datadir, k + ".npy"), np.ascontiguousarray(v))
    return d


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y.astype(np.int64), test_size=0.2, random_state=0)


# ------------------------------------------------------------------ reference math (float64)
def ref_sigmoid(x):
    from scipy.special import expit
    return expit(x)


def ref_ufs(x):
    h = x / 2
    a = np.abs(h)
    z = np.where(a < 1.7, 1.5 * a / (1 + a), np.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673))
    return 0.5 * np.sign(h) * z + 0.5 + 0.0 * (h == 0)


W1_REF = {
    "sigmoid": ref_sigmoid,
    "softplus": lambda x: np.logaddexp(x, 0),
    "relu": lambda x: np.maximum(x, 0),
    "ultra_fast_sigmoid": ref_ufs,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
}


def err_of(got, want):
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want)))


# ------------------------------------------------------------------ peers
class Peer:
    name = "?"

    def w1(self, act, x):
        raise NotImplementedError

    def w2(self, case, x):
        raise NotImplementedError


class Numpy(Peer):
    name = "numpy"

    def w1(self, act, x):
        f = {
            "sigmoid": lambda: 1 / (1 + np.exp(-x)),
            "softplus": lambda: np.logaddexp(x, 0),
            "relu": lambda: np.maximum(x, 0),
            "ultra_fast_sigmoid": lambda: (lambda a, h: 0.5 * np.sign(h) * np.where(a < 1.7, 1.5 * a / (1 + a), np.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673)) + 0.5)(np.abs(x / 2), x / 2),
            "hard_sigmoid": lambda: np.clip(x * 0.2 + 0.5, 0, 1),
        }[act]
        return f

    def w2(self, case, x):
        def sm():
            e = np.exp(x - x.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        def lsm():
            s = x - x.max(axis=1, keepdims=True)
            return s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return sm if case == "softmax" else lsm

    def w3(self, case, z, t):
        n = z.size

        def fwd():
            return np.mean(t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z))

        def both():
            s = 1 / (1 + np.exp(-z))
            return fwd(), (s - t) / n
        return fwd if case == "bce_forward" else both

    def w4(self, X, W, b, y):
        def run():
            z = X @ W + b
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            n = X.shape[0]
            cost = -np.mean(np.log(p[np.arange(n), y]))
            d = p
            d[np.arange(n), y] -= 1
            d /= n
            return cost, X.T @ d, d.sum(axis=0)
        return run

    def w5(self, X, W, V, b, c):
        P = [W.copy(), V.copy(), b.copy(), c.copy()]
        N = X.size

        def step():
            W_, V_, b_, c_ = P
            h = 1 / (1 + np.exp(-(X @ W_ + b_)))
            a = h @ V_ + c_
            xr = 1 / (1 + np.exp(-a))
            cost = np.mean(X * np.logaddexp(0, -a) + (1 - X) * np.logaddexp(0, a))
            da = (xr - X) / N
            dV = h.T @ da
            dc = da.sum(axis=0)
            dh = (da @ V_.T) * h * (1 - h)
            dW = X.T @ dh
            db = dh.sum(axis=0)
            W_ -= 0.1 * dW
            V_ -= 0.1 * dV
            b_ -= 0.1 * db
            c_ -= 0.1 * dc
            return cost
        return step


class Scipy(Peer):
    name = "scipy"

    def w1(self, act, x):
        from scipy import special
        if act == "sigmoid":
            return lambda: special.expit(x)
        if act == "softplus" and hasattr(special, "softplus"):
            return lambda: special.softplus(x)
        return None

    def w2(self, case, x):
        from scipy import special
        return (lambda: special.softmax(x, axis=1)) if case == "softmax" else (lambda: special.log_softmax(x, axis=1))


class PyTensor(Peer):
    def __init__(self, mode):
        import pytensor
        import pytensor.tensor as pt
        self.th, self.pt, self.mode = pytensor, pt, mode
        self.name = "pytensor-" + ("c" if mode == "FAST_RUN" else "numba")

    def fn(self, ins, outs, **kw):
        return self.th.function(ins, outs, mode=self.mode, **kw)

    def w1(self, act, x):
        pt = self.pt
        v = pt.vector(dtype=str(x.dtype))
        h = v / 2
        a = pt.abs(h)
        e = {
            "sigmoid": pt.sigmoid(v),
            "softplus": pt.softplus(v),
            "relu": pt.maximum(v, 0),
            "ultra_fast_sigmoid": 0.5 * pt.sgn(h) * pt.switch(a < 1.7, 1.5 * a / (1 + a), pt.switch(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673)) + 0.5,
            "hard_sigmoid": pt.clip(v * 0.2 + 0.5, 0, 1),
        }[act]
        f = self.fn([v], e)
        return lambda: f(x)

    def w2(self, case, x):
        from pytensor.tensor.special import log_softmax, softmax
        m = self.pt.matrix(dtype=str(x.dtype))
        f = self.fn([m], softmax(m, axis=1) if case == "softmax" else log_softmax(m, axis=1))
        return lambda: f(x)

    def w3(self, case, z, t):
        pt = self.pt
        zz = pt.vector(dtype=str(z.dtype))
        tt = pt.vector(dtype=str(t.dtype))
        s = pt.sigmoid(zz)
        cost = pt.mean(-(tt * pt.log(s) + (1 - tt) * pt.log(1 - s)))
        outs = cost if case == "bce_forward" else [cost, self.th.grad(cost, zz)]
        f = self.fn([zz, tt], outs)
        return lambda: f(z, t)

    def w4(self, X, W, b, y):
        pt = self.pt
        from pytensor.tensor.special import softmax
        XX = pt.matrix(dtype=str(X.dtype))
        Ws = self.th.shared(W)
        bs = self.th.shared(b)
        yy = pt.lvector()
        p = softmax(XX @ Ws + bs, axis=1)
        cost = -pt.mean(pt.log(p[pt.arange(yy.shape[0]), yy]))
        f = self.fn([XX, yy], [cost] + self.th.grad(cost, [Ws, bs]))
        return lambda: f(X, y)

    def w5_graph(self, X, W, V, b, c):
        pt = self.pt
        sh = [self.th.shared(v.copy()) for v in (W, V, b, c)]
        Ws, Vs, bs, cs = sh
        XX = pt.matrix(dtype=str(X.dtype))
        h = pt.sigmoid(XX @ Ws + bs)
        xr = pt.sigmoid(h @ Vs + cs)
        cost = pt.mean(-(XX * pt.log(xr) + (1 - XX) * pt.log(1 - xr)))
        g = self.th.grad(cost, sh)
        return XX, cost, [(p, p - np.asarray(0.1, dtype=X.dtype) * gp) for p, gp in zip(sh, g)]

    def w5(self, X, W, V, b, c):
        XX, cost, upd = self.w5_graph(X, W, V, b, c)
        f = self.fn([XX], cost, updates=upd)
        return lambda: f(X)


class Jax(Peer):
    name = "jax"

    def __init__(self):
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp = jax, jnp

    def w1(self, act, x):
        jax, jnp = self.jax, self.jnp
        xs = jnp.asarray(x)

        def ufs(v):
            h = v / 2
            a = jnp.abs(h)
            return 0.5 * jnp.sign(h) * jnp.where(a < 1.7, 1.5 * a / (1 + a), jnp.where(a < 3, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673)) + 0.5
        f = jax.jit({"sigmoid": jax.nn.sigmoid, "softplus": jax.nn.softplus, "relu": jax.nn.relu,
                     "ultra_fast_sigmoid": ufs, "hard_sigmoid": lambda v: jnp.clip(v * 0.2 + 0.5, 0, 1)}[act])
        return lambda: f(xs).block_until_ready()

    def w2(self, case, x):
        jax = self.jax
        xs = self.jnp.asarray(x)
        f = jax.jit(lambda v: jax.nn.softmax(v, axis=1) if case == "softmax" else jax.nn.log_softmax(v, axis=1))
        return lambda: f(xs).block_until_ready()

    def w3(self, case, z, t):
        jax, jnp = self.jax, self.jnp
        zs, ts = jnp.asarray(z), jnp.asarray(t)

        def cost(zz, tt):
            return jnp.mean(tt * jax.nn.softplus(-zz) + (1 - tt) * jax.nn.softplus(zz))
        f = jax.jit(cost if case == "bce_forward" else jax.value_and_grad(cost))
        return lambda: jax.block_until_ready(f(zs, ts))

    def w4(self, X, W, b, y):
        jax, jnp = self.jax, self.jnp
        Xs, Ws, bs, ys = map(jnp.asarray, (X, W, b, y))

        def cost(W_, b_):
            lp = jax.nn.log_softmax(Xs @ W_ + b_, axis=1)
            return -jnp.mean(lp[jnp.arange(ys.shape[0]), ys])
        f = jax.jit(jax.value_and_grad(cost, argnums=(0, 1)))
        return lambda: jax.block_until_ready(f(Ws, bs))

    def w5_step(self):
        jax, jnp = self.jax, self.jnp

        def cost(P, X):
            W, V, b, c = P
            h = jax.nn.sigmoid(X @ W + b)
            a = h @ V + c
            return jnp.mean(X * jax.nn.softplus(-a) + (1 - X) * jax.nn.softplus(a))

        def step(P, X):
            v, g = jax.value_and_grad(cost)(P, X)
            return v, [p - 0.1 * gp for p, gp in zip(P, g)]
        return step

    def w5(self, X, W, V, b, c):
        jax, jnp = self.jax, self.jnp
        f = jax.jit(self.w5_step())
        state = {"P": [jnp.asarray(v) for v in (W, V, b, c)]}
        Xs = jnp.asarray(X)

        def run():
            v, state["P"] = f(state["P"], Xs)
            return jax.block_until_ready(v)
        return run


def make_peers(names):
    out = []
    for n in names:
        try:
            if n == "numpy":
                out.append(Numpy())
            elif n == "scipy":
                out.append(Scipy())
            elif n == "pytensor-c":
                out.append(PyTensor("FAST_RUN"))
            elif n == "pytensor-numba":
                out.append(PyTensor("NUMBA"))
            elif n == "jax":
                out.append(Jax())
        except Exception as e:  # noqa: BLE001 - a missing peer is reported, not fatal
            print("peer %s unavailable: %s" % (n, e), file=sys.stderr)
    return out


def run(args):
    d = make_data(args.data)
    threads = args.threads
    peers = make_peers(args.peers.split(","))
    res = []
    wl = args.workloads.split(",")
    dtypes = ["float64", "float32"]

    def attempt(workload, case, peer, dtype, build, check=None, **kw):
        try:
            fn = build()
            if fn is None:
                return
            out = fn()
            err = check(out) if check else None
            times = measure(fn, **{k: v for k, v in kw.items() if k in ("warmup", "min_runs", "min_time")})
            extra = {k: v for k, v in kw.items() if k not in ("warmup", "min_runs", "min_time")}
            res.append(record(workload, case, peer.name if peer else "ref", dtype, threads, times, err=err, **extra))
        except Exception as e:  # noqa: BLE001 - a failing case is recorded, not fatal
            res.append(dict(workload=workload, case=case, peer=peer.name if peer else "ref", dtype=dtype, threads=threads, failed=str(e)[:300]))
        gc.collect()

    if "W1" in wl:
        for dt in dtypes:
            x = d["w1_x"].astype(dt)
            b = 2 * x.nbytes
            y = np.empty_like(x)
            attempt("W1", "ref:alloc+copy", None, dt, lambda: (lambda: x.copy()), bytes_=b, ref=True)
            attempt("W1", "ref:copy-prealloc", None, dt, lambda: (lambda: np.copyto(y, x)), bytes_=b, ref=True)
            for act, ref in W1_REF.items():
                want = ref(d["w1_x"].astype(dt).astype(np.float64))
                for p in peers:
                    attempt("W1", act, p, dt, lambda: p.w1(act, x), check=lambda o: err_of(o, want), bytes_=b)
    if "W2" in wl:
        for dt in dtypes:
            x = d["w2_x"].astype(dt)
            xx = x.astype(np.float64)
            s = xx - xx.max(axis=1, keepdims=True)
            lsm = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
            attempt("W2", "ref:alloc+copy", None, dt, lambda: (lambda: x.copy()), bytes_=2 * x.nbytes, ref=True)
            for case, want in (("softmax", np.exp(lsm)), ("log_softmax", lsm)):
                for p in peers:
                    attempt("W2", case, p, dt, lambda: p.w2(case, x), check=lambda o: err_of(o, want), bytes_=2 * x.nbytes)
    if "W3" in wl:
        for dt in dtypes:
            z, t = d["w3_z"].astype(dt), d["w3_t"].astype(dt)
            zz, tt = z.astype(np.float64), t.astype(np.float64)
            want = np.mean(tt * np.logaddexp(0, -zz) + (1 - tt) * np.logaddexp(0, zz))
            for case, nb in (("bce_forward", 2 * z.nbytes), ("bce_forward+grad", 3 * z.nbytes)):
                for p in peers:
                    if hasattr(p, "w3"):
                        attempt("W3", case, p, dt, lambda: p.w3(case, z, t),
                                check=lambda o: err_of(o[0] if isinstance(o, (tuple, list)) else o, want), bytes_=nb)
    if "W4" in wl:
        for dt in dtypes:
            X, W, y = d["w4_X"].astype(dt), d["w4_W"].astype(dt), d["w4_y"]
            b = np.zeros(10, dtype=dt)
            N, D, K = 4096, 784, 10
            for p in peers:
                if hasattr(p, "w4"):
                    attempt("W4", "cce_softmax_forward+grad", p, dt, lambda: p.w4(X, W, b, y), flops=4 * N * D * K, bytes_=X.nbytes)
    if "W5" in wl:
        for dt in dtypes:
            X, W, V = d["w5_X"].astype(dt), d["w5_W"].astype(dt), d["w5_V"].astype(dt)
            b, c = np.zeros(256, dt), np.zeros(784, dt)
            A = np.random.default_rng(9).random((1024, 1024)).astype(dt)
            attempt("W5", "ref:gemm-peak", None, dt, lambda: (lambda: A @ A), flops=2 * 1024 ** 3, ref=True)
            for p in peers:
                if hasattr(p, "w5"):
                    attempt("W5", "autoencoder_step", p, dt, lambda: p.w5(X, W, V, b, c), flops=513.8e6, warmup=5, min_runs=30)
    if "W7" in wl:
        Xtr, Xte, ytr, yte = digits()
        for dt in dtypes:
            for p in peers:
                if p.name in ("numpy", "jax", "pytensor-c", "pytensor-numba"):
                    try:
                        res.append(w7(p, Xtr.astype(dt), ytr, Xte.astype(dt), yte, dt, threads))
                    except Exception as e:  # noqa: BLE001
                        res.append(dict(workload="W7", case="mlp_digits", peer=p.name, dtype=dt, threads=threads, failed=str(e)[:300]))
    if "W6" in wl and threads == 1:
        for p in peers:
            if p.name.startswith("pytensor") or p.name == "jax":
                try:
                    res.append(w6(p, d))
                except Exception as e:  # noqa: BLE001
                    res.append(dict(workload="W6", case="compile", peer=p.name, dtype="float64", threads=1, failed=str(e)[:300]))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": {"threads": threads, "python": sys.version}, "results": res}, f)


def w6(p, d):
    """Compile time of the W5 step, in this process (cold: first; warm: a second identical graph)."""
    X, W, V = d["w5_X"], d["w5_W"], d["w5_V"]
    b, c = np.zeros(256), np.zeros(784)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        if p.name == "jax":
            jax = p.jax
            step = jax.jit(p.w5_step())
            P = [p.jnp.asarray(v) for v in (W, V, b, c)]
            step.lower(P, p.jnp.asarray(X)).compile()
        else:
            XX, cost, upd = p.w5_graph(X, W, V, b, c)
            f = p.fn([XX], cost, updates=upd)
            f(X)
        times.append(time.perf_counter() - t)
    return record("W6", "compile(cold, warm)", p.name, "float64", 1, times, note="in-process; cold includes first call")


def w7(p, Xtr, ytr, Xte, yte, dt, threads):
    rng = np.random.default_rng(0)
    W1 = rng.uniform(-np.sqrt(6 / 96), np.sqrt(6 / 96), (64, 32)).astype(dt)
    W2 = rng.uniform(-np.sqrt(6 / 42), np.sqrt(6 / 42), (32, 10)).astype(dt)
    perms = [rng.permutation(len(Xtr)) for _ in range(100)]
    times, accs = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        step, logits, state = build_w7(p, W1, W2, dt)
        setup = time.perf_counter() - t0
        t = time.perf_counter()
        for perm in perms:
            for i in range(0, len(perm), 64):
                idx = perm[i:i + 64]
                step(Xtr[idx], ytr[idx])
        times.append(time.perf_counter() - t)
        accs.append(float((np.argmax(np.asarray(logits(Xte)), axis=1) == yte).mean()))
    return record("W7", "mlp_digits", p.name, dt, threads, times, test_accuracy=accs, steps=2300, epochs=100, setup_compile_s=[setup])


def build_w7(p, W1, W2, dt):
    lr = np.asarray(0.1, dtype=dt)
    if p.name == "numpy":
        P = [W1.copy(), np.zeros(32, dt), W2.copy(), np.zeros(10, dt)]

        def step(X, y):
            W1_, b1, W2_, b2 = P
            h = 1 / (1 + np.exp(-(X @ W1_ + b1)))
            z = h @ W2_ + b2
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            pr = e / e.sum(axis=1, keepdims=True)
            n = len(y)
            pr[np.arange(n), y] -= 1
            dz = pr / n
            dh = (dz @ W2_.T) * h * (1 - h)
            W2_ -= lr * (h.T @ dz)
            b2 -= lr * dz.sum(0)
            W1_ -= lr * (X.T @ dh)
            b1 -= lr * dh.sum(0)

        def logits(X):
            return (1 / (1 + np.exp(-(X @ P[0] + P[1])))) @ P[2] + P[3]
        return step, logits, P
    if p.name == "jax":
        jax, jnp = p.jax, p.jnp
        state = {"P": [jnp.asarray(W1), jnp.zeros(32, dt), jnp.asarray(W2), jnp.zeros(10, dt)]}

        def loss(P, X, y):
            h = jax.nn.sigmoid(X @ P[0] + P[1])
            lp = jax.nn.log_softmax(h @ P[2] + P[3], axis=1)
            return -jnp.mean(lp[jnp.arange(y.shape[0]), y])

        @jax.jit
        def upd(P, X, y):
            g = jax.grad(loss)(P, X, y)
            return [a - 0.1 * b for a, b in zip(P, g)]

        def step(X, y):
            state["P"] = upd(state["P"], X, y)

        def logits(X):
            P = state["P"]
            return jax.nn.sigmoid(X @ P[0] + P[1]) @ P[2] + P[3]
        return step, logits, state
    th, pt = p.th, p.pt
    from pytensor.tensor.special import softmax
    sh = [th.shared(W1.copy()), th.shared(np.zeros(32, dt)), th.shared(W2.copy()), th.shared(np.zeros(10, dt))]
    X = pt.matrix(dtype=dt)
    y = pt.lvector()
    h = pt.sigmoid(X @ sh[0] + sh[1])
    z = h @ sh[2] + sh[3]
    pr = softmax(z, axis=1)
    cost = -pt.mean(pt.log(pr[pt.arange(y.shape[0]), y]))
    g = th.grad(cost, sh)
    f = p.fn([X, y], [], updates=[(s, s - lr * gs) for s, gs in zip(sh, g)])
    lg = p.fn([X], z)
    return (lambda a, b: f(a, b)), lg, sh


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="bench/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--peers", default="numpy,scipy,pytensor-c,pytensor-numba,jax")
    ap.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6,W7")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (min 3 runs, 0.3 s)")
    a = ap.parse_args()
    if a.quick:
        RULES.update(min_runs=3, min_time=0.3, max_time=5.0)
    run(a)
