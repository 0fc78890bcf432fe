"""Realistic Theano programs, run identically by Theano 1.0.5 (to record fixtures) and by rheano
(in the pytest suite). Each program takes the module `theano` and returns a JSON-able dict.

Record the fixtures (Theano 1.0.5 on Python 3.11, numpy 1.23.5, scipy 1.9.3):
    THEANO_FLAGS='blas.ldflags=' theano-venv/bin/python tools/gen_theano_fixtures.py
"""
import gzip
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, "..", "crates", "rheano-cli", "data", "digits.csv.gz")


def load_digits():
    with gzip.open(DIGITS, "rt") as f:
        rows = np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])
    x = rows[:, :64] / 16.0
    y = rows[:, 64].astype("int64")
    rng = np.random.RandomState(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n = len(x) * 4 // 5
    return x[:n], y[:n], x[n:], y[n:]


def logistic_regression(theano):
    T = theano.tensor
    tx, ty, vx, vy = load_digits()
    rng = np.random.RandomState(1)
    W = theano.shared(rng.uniform(-0.01, 0.01, (64, 10)), name="W")
    b = theano.shared(np.zeros(10), name="b")
    data_x = theano.shared(tx, name="data_x")
    data_y = theano.shared(ty, name="data_y")
    x = T.dmatrix("x")
    y = T.lvector("y")
    index = T.lscalar("index")
    p_y = T.nnet.softmax(T.dot(x, W) + b)
    cost = -T.mean(T.log(p_y)[T.arange(y.shape[0]), y])
    gW, gb = T.grad(cost, [W, b])
    bs = 50
    train = theano.function([index], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                            givens={x: data_x[index * bs:(index + 1) * bs], y: data_y[index * bs:(index + 1) * bs]})
    predict = theano.function([x], T.argmax(p_y, axis=1))
    losses = []
    for epoch in range(3):
        for i in range(len(tx) // bs):
            losses.append(float(train(i)))
    pred = predict(vx)
    return {"losses": losses, "W_sum": float(W.get_value().sum()), "b": b.get_value().tolist(),
            "accuracy": float((pred == vy).mean())}


def mlp(theano):
    T = theano.tensor
    tx, ty, vx, vy = load_digits()
    rng = np.random.RandomState(2)
    W1 = theano.shared(rng.uniform(-0.25, 0.25, (64, 32)), name="W1")
    b1 = theano.shared(np.zeros(32), name="b1")
    W2 = theano.shared(rng.uniform(-0.35, 0.35, (32, 10)), name="W2")
    b2 = theano.shared(np.zeros(10), name="b2")
    x = T.dmatrix("x")
    y = T.lvector("y")
    h = T.nnet.sigmoid(T.dot(x, W1) + b1)
    p = T.nnet.softmax(T.dot(h, W2) + b2)
    cost = T.nnet.categorical_crossentropy(p, y).mean() + 1e-4 * (W1 ** 2).sum()
    params = [W1, b1, W2, b2]
    grads = T.grad(cost, params)
    lr = T.dscalar("lr")
    train = theano.function([x, y, theano.In(lr, value=0.5)], cost,
                            updates=[(p_, p_ - lr * g) for p_, g in zip(params, grads)])
    acc = theano.function([x, y], T.mean(T.eq(T.argmax(p, axis=1), y)))
    losses = []
    for epoch in range(5):
        for i in range(0, len(tx) - 31, 32):
            losses.append(float(train(tx[i:i + 32], ty[i:i + 32])))
    losses.append(float(train(tx[:32], ty[:32], lr=0.1)))
    return {"losses": losses, "accuracy": float(acc(vx, vy)),
            "W2_sum": float(W2.get_value().sum()), "b1_sum": float(b1.get_value().sum())}


def autoencoder(theano):
    T = theano.tensor
    x, y, b, c = T.dvectors("x", "y", "b", "c")
    W = T.dmatrix("W")
    V = T.dmatrix("V")
    h = T.nnet.sigmoid(T.dot(W, x) + b)
    x_recons = T.nnet.sigmoid(T.dot(V, h) + c)
    recon_cost = T.nnet.binary_crossentropy(x_recons, x).mean()
    g = T.grad(recon_cost, [W, b, V, c])
    f = theano.function([W, x, b, V, c], [recon_cost] + g)
    Wv = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    out = f(Wv, [0.2, 0.9], [0.01, -0.02, 0.03], Wv.T, [0.05, -0.05])
    return {"pprint": theano.pprint(recon_cost), "values": [np.asarray(o).tolist() for o in out]}


def nnet_gradients(theano):
    T = theano.tensor
    nn = T.nnet
    x = T.dvector("x")
    t = T.dvector("t")
    xv = np.array([-3.0, -0.7, 0.1, 0.9, 2.5])
    tv = np.array([0.0, 1.0, 0.3, 1.0, 0.0])
    exprs = {
        "sigmoid": nn.sigmoid(x).sum(),
        "softplus": (nn.softplus(x) * t).sum(),
        "softsign": nn.softsign(x).sum(),
        "relu": (nn.relu(x) * t).sum(),
        "relu_alpha": (nn.relu(x, 0.1) * t).sum(),
        "elu": nn.elu(x).sum(),
        "selu": nn.selu(x).sum(),
        "hard_sigmoid": nn.hard_sigmoid(x).sum(),
        "bce_sigmoid": nn.binary_crossentropy(nn.sigmoid(x), t).mean(),
        "sigmoid_bce": nn.sigmoid_binary_crossentropy(x, t).sum(),
        "softmax": (nn.softmax(x.dimshuffle("x", 0)) * t).sum(),
        "logsoftmax": (nn.logsoftmax(x.dimshuffle("x", 0)) * t).sum(),
        "tanh_exp": (T.tanh(x) * T.exp(-x ** 2)).sum(),
    }
    out = {}
    for name, e in exprs.items():
        g = T.grad(e, x)
        f = theano.function([x, t], [e, g], on_unused_input="ignore")
        v, gv = f(xv, tv)
        out[name] = {"value": float(v), "grad": gv.tolist()}
    m = T.dmatrix("m")
    lab = T.lvector("lab")
    cce = nn.categorical_crossentropy(nn.softmax(m), lab).mean()
    f = theano.function([m, lab], [cce, T.grad(cce, m)])
    mv = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]])
    v, gv = f(mv, [2, 0])
    out["cce_softmax"] = {"value": float(v), "grad": gv.tolist()}
    return out


def dtypes(theano):
    T = theano.tensor
    fv = T.fvector("fv")
    iv = T.ivector("iv")
    bv = T.bvector("bv")
    dv = T.dvector("dv")
    cases = {
        "fv*2.0": fv * 2.0, "fv+0.1": fv + 0.1, "fv+1.5": fv + 1.5, "fv+1": fv + 1, "iv+1.5": iv + 1.5,
        "bv+1": bv + 1, "bv+1000": bv + 1000, "iv/iv": iv / iv, "iv//iv": iv // iv, "fv.mean()": fv.mean(),
        "iv.mean()": iv.mean(), "bv.sum()": bv.sum(), "sigmoid(iv)": T.nnet.sigmoid(iv),
        "sigmoid(bv)": T.nnet.sigmoid(bv), "relu(fv)": T.nnet.relu(fv), "relu(fv,0.1)": T.nnet.relu(fv, 0.1),
        "relu(iv)": T.nnet.relu(iv), "selu(fv)": T.nnet.selu(fv), "bce(fv,fv)": T.nnet.binary_crossentropy(fv, fv),
        "bce(fv,dv)": T.nnet.binary_crossentropy(fv, dv), "vector": T.vector("v"), "dot(fm,dv)": T.dot(T.fmatrix(), dv),
        "fv>0": fv > 0, "hard_sigmoid(iv)": T.nnet.hard_sigmoid(iv), "argmax(fv)": T.argmax(fv),
        "exp(bv)": T.exp(bv), "fv*dv": fv * dv, "arange(5)": T.arange(5),
    }
    return {k: v.dtype for k, v in cases.items()}


def errors(theano):
    T = theano.tensor
    out = {}

    def record(name, fn):
        try:
            fn()
            out[name] = None
        except Exception as e:  # noqa: BLE001 - recording the exception type is the point
            out[name] = type(e).__name__

    x, y = T.dvectors("x", "y")
    record("missing_input", lambda: theano.function([x], x + y))
    record("unused_input", lambda: theano.function([x, y], x * 2))
    record("lossy_dtype", lambda: theano.function([T.fvector("f")], T.fvector("g") * 0 + 1, on_unused_input="ignore")(np.zeros(2)))
    f = theano.function([x], x * 2)
    record("wrong_ndim", lambda: f(np.zeros((2, 2))))
    record("too_many_args", lambda: f(np.zeros(2), np.zeros(2)))
    record("non_scalar_cost", lambda: T.grad(x * 2, x))
    record("disconnected", lambda: T.grad((x * 2).sum(), y))
    record("softmax_int", lambda: T.nnet.softmax(T.ivector()))
    record("cce_int8_labels", lambda: T.nnet.categorical_crossentropy(T.dmatrix(), T.bvector()))
    record("cce_rank_mismatch", lambda: T.nnet.categorical_crossentropy(T.dmatrix(), T.dtensor3()))
    s = theano.shared(np.zeros(2), name="s")
    record("update_dtype", lambda: theano.function([], [], updates=[(s, T.cast(s, "float32"))]))
    record("set_value_ndim", lambda: s.set_value(np.zeros((2, 2))))
    m = T.dmatrix("m")
    g = theano.function([m], m + m.T)
    record("shape_mismatch", lambda: g(np.zeros((2, 3))))
    record("wrt_set", lambda: T.grad((x * 2).sum(), {x}))
    return out


PROGRAMS = {
    "logistic_regression": logistic_regression,
    "mlp": mlp,
    "autoencoder": autoencoder,
    "nnet_gradients": nnet_gradients,
    "errors": errors,
}
