"""The seed notebook, in Python 3 with one import changed."""
import warnings

import numpy as np


def test_seed_notebook(capsys):
    import rheano as theano
    from rheano import tensor as T

    x, y, b = T.dvectors('x', 'y', 'b')
    W = T.dmatrix('W')
    y = T.nnet.sigmoid(T.dot(W, x) + b)
    print(theano.pprint(y))
    y = T.nnet.softplus(T.dot(W, x) + b)
    print(theano.pprint(y))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = T.nnet.softmax(T.dot(W, x) + b)
    assert any("DEPRECATION" in str(m.message) for m in w)
    print(theano.pprint(y))
    x, y, b, c = T.dvectors('x', 'y', 'b', 'c')
    W = T.dmatrix('W')
    V = T.dmatrix('V')
    h = T.nnet.sigmoid(T.dot(W, x) + b)
    x_recons = T.nnet.sigmoid(T.dot(V, h) + c)
    recon_cost = T.nnet.binary_crossentropy(x_recons, x).mean()
    out = capsys.readouterr().out.splitlines()
    assert out == [r"sigmoid(((W \dot x) + b))", r"softplus(((W \dot x) + b))", r"Softmax(((W \dot x) + b))"]
    f = theano.function([W, x, b, V, c], recon_cost)
    Wv = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    r = f(Wv, [0.2, 0.9], [0.01, -0.02, 0.03], Wv.T, [0.05, -0.05])
    assert abs(float(r) - 0.6086600942355443) < 1e-14
