"""Variables, functions, shared variables and errors behave as Theano's."""
import threading
import warnings

import numpy as np
import pytest

import rheano as theano
from rheano import tensor as T
from rheano.gradient import DisconnectedInputError, GradientError, NullTypeGradError


def test_operators_and_methods():
    x, y = T.dvectors("x", "y")
    f = theano.function([x, y], [x + y, x - y, x * y, x / y, x // y, x ** 2, x % y, -x, abs(x)])
    out = f([1.5, -2.0], [2.0, 0.5])
    assert [o.tolist() for o in out] == [[3.5, -1.5], [-0.5, -2.5], [3.0, -1.0], [0.75, -4.0], [0.0, -4.0],
                                         [2.25, 4.0], [1.5, 0.0], [-1.5, 2.0], [1.5, 2.0]]
    m = T.dmatrix("m")
    mv = np.arange(6.0).reshape(2, 3)
    g = theano.function([m], [m.sum(), m.sum(axis=0), m.mean(axis=1), m.max(), m.min(axis=1), m.argmax(axis=1),
                              m.T, m.reshape((3, 2)), m.flatten(), m.shape, m.dimshuffle(1, "x", 0), m[1], m[:, 1:],
                              m[0, ::2], m.prod(axis=1), m.argmin(), T.sum(m, axis=1, keepdims=True)])
    r = g(mv)
    assert r[0] == 15.0 and r[1].tolist() == [3, 5, 7] and r[2].tolist() == [1, 4] and r[3] == 5
    assert r[4].tolist() == [0, 3] and r[5].tolist() == [2, 2] and r[6].shape == (3, 2)
    assert r[7].shape == (3, 2) and r[8].shape == (6,) and r[9].tolist() == [2, 3]
    assert r[10].shape == (3, 1, 2) and r[11].tolist() == [3, 4, 5] and r[12].tolist() == [[1, 2], [4, 5]]
    assert r[13].tolist() == [0, 2] and r[14].tolist() == [0, 60] and r[15] == 0 and r[16].shape == (2, 1)
    assert (m < 2).dtype == "bool" and T.lt(m, 2).dtype == "bool"
    assert m.ndim == 2 and m.dtype == "float64" and m.broadcastable == (False, False)
    assert str(m.type) == "TensorType(float64, matrix)" and m.name == "m"
    assert str(T.dvector()) == "<TensorType(float64, vector)>"


def test_advanced_indexing_and_eval():
    m = T.dmatrix("m")
    y = T.lvector("y")
    picked = m[T.arange(y.shape[0]), y]
    assert picked.eval({m: np.array([[1.0, 2.0], [3.0, 4.0]]), y: np.array([1, 0])}).tolist() == [2.0, 3.0]
    v = T.dvector("v")
    assert v[[2, 0]].eval({v: np.array([5.0, 6.0, 7.0])}).tolist() == [7.0, 5.0]
    i = T.lscalar("i")
    assert v[i].eval({v: np.array([5.0, 6.0, 7.0]), i: 2}) == 7.0
    with pytest.raises(IndexError):
        v[5].eval({v: np.zeros(3)})


def test_tutorial_cost_compiles_to_the_fused_crossentropy():
    # The deeplearning.net form of the negative log-likelihood: Theano compiles it (and its
    # gradient) to CrossentropySoftmaxArgmax1HotWithBias (and its Dx), with no indexing left.
    x, y = T.dmatrix("x"), T.lvector("y")
    W, b = T.dmatrix("W"), T.dvector("b")
    p = T.nnet.softmax(T.dot(x, W) + b)
    for cost in (-T.mean(T.log(p)[T.arange(y.shape[0]), y]), -T.mean(T.log(p[T.arange(y.shape[0]), y]))):
        f = theano.function([x, y, W, b], [cost] + T.grad(cost, [W, b]))
        text = theano.printing.debugprint(f, file="str")
        assert "CrossentropySoftmax" in text and "AdvancedSubtensor" not in text, text
        rng = np.random.default_rng(0)
        xv, Wv, bv = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)) * 300, rng.normal(size=3)
        yv = np.array([0, 2, 1, 1, 0, 2])
        c, gW, gb = f(xv, yv, Wv, bv)
        z = xv @ Wv + bv
        lse = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
        assert np.isclose(c, np.mean(lse - z[np.arange(6), yv]), rtol=1e-12)
        d = np.exp(z - lse[:, None])
        d[np.arange(6), yv] -= 1
        assert np.allclose(gW, xv.T @ d / 6, rtol=1e-12, atol=1e-14)
        assert np.allclose(gb, d.sum(0) / 6, rtol=1e-12, atol=1e-14)
        with pytest.raises(ValueError):
            f(xv, np.array([0, 3, 1, 1, 0, 2]), Wv, bv)


def test_literal_typing():
    fv = T.fvector("fv")
    assert (fv * 2.0).dtype == "float32"
    assert (fv + 0.1).dtype == "float64"
    assert (fv + np.float32(0.1)).dtype == "float32"
    assert (fv + np.float64(0.1)).dtype == "float64"
    assert (T.bvector() + 1).dtype == "int8"
    assert (T.bvector() + np.int64(1)).dtype == "int64"
    assert (fv + [1.0, 2.0]).dtype == "float64"
    assert (T.bvector() + [1, 2]).dtype == "int64"
    with pytest.raises(TypeError):
        fv + True


def test_plural_constructors():
    assert isinstance(T.dvectors("x"), T.TensorVariable)
    assert len(T.dvectors(2)) == 2 and len(T.dvectors(1)) == 1
    assert [v.name for v in T.dmatrices("a", "b")] == ["a", "b"]
    assert T.dvector.ndim == 1 and T.TensorType("int8", (False,) * 4)("t").type == T.btensor4
    assert str(T.ftensor3) == "TensorType(float32, 3D)"


def test_function_inputs_outputs_and_defaults():
    x, y = T.dscalars("x", "y")
    f = theano.function([x, theano.In(y, value=10.0)], x + y)
    assert f(1.0) == 11.0 and f(1.0, 2.0) == 3.0 and f(x=1.0, y=3.0) == 4.0
    with pytest.raises(TypeError, match="Missing required input: x"):
        f(y=1.0)
    g = theano.function([x], [x, x * 2])
    assert isinstance(g(1.0), list)
    assert theano.function([x], [], on_unused_input="ignore")(1.0) == []
    f32 = T.fvector("f")
    h = theano.function([f32], f32 * 2)
    assert h([1.0, 2.0]).dtype == np.float32  # lists convert without loss
    with pytest.raises(TypeError, match="cannot store a value of dtype float64"):
        h(np.array([1.0]))
    assert h(np.array([0.1]).astype(np.float32)).dtype == np.float32
    hd = theano.function([f32], f32 * 2, allow_input_downcast=True)
    assert hd(np.array([0.5])).tolist() == [1.0]
    with pytest.raises(TypeError, match="Wrong number of dimensions"):
        h(np.zeros((2, 2), dtype=np.float32))


def test_shared_updates_and_givens():
    s = theano.shared(np.array([1.0, 2.0]), name="s")
    assert str(s.type) == "TensorType(float64, vector)"
    inc = T.dscalar("inc")
    f = theano.function([inc], s.sum(), updates=[(s, s + inc)])
    assert f(1.0) == 3.0 and s.get_value().tolist() == [2.0, 3.0]
    v = s.get_value()
    v[0] = 100.0
    assert s.get_value()[0] == 2.0
    arr = np.array([1.0, 1.0])
    s.set_value(arr)
    arr[0] = 7.0
    assert s.get_value()[0] == 1.0
    with pytest.raises(TypeError, match="Wrong number of dimensions"):
        s.set_value(np.zeros((2, 2)))
    assert theano.shared(1.5).type == T.dscalar and theano.shared(3).dtype == "int64"
    with pytest.raises(TypeError, match="same type as the original shared variable"):
        theano.function([], [], updates=[(s, T.cast(s, "float32"))])
    data = theano.shared(np.arange(10.0))
    i = T.lscalar("i")
    x = T.dvector("x")
    g = theano.function([i], x.sum(), givens={x: data[i * 2:(i + 1) * 2]})
    assert g(0) == 1.0 and g(4) == 17.0


def test_grad_api_and_errors():
    x, y = T.dvectors("x", "y")
    c = (x ** 2).sum()
    c.name = "c"
    gx = T.grad(c, x)
    assert gx.name == "(dc/dx)"
    assert gx.eval({x: np.array([1.0, 2.0])}).tolist() == [2.0, 4.0]
    assert isinstance(T.grad(c, [x]), list) and isinstance(T.grad(c, (x,)), tuple)
    with pytest.raises(DisconnectedInputError):
        T.grad(c, y)
    assert theano.pprint(T.grad(c, y, disconnected_inputs="ignore")) == "fill(y, TensorConstant{0.0})"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert T.grad(c, [y], disconnected_inputs="warn", return_disconnected="None") == [None]
    with pytest.raises(TypeError):
        T.grad(x * 2, x)
    with pytest.raises(TypeError):
        T.grad(c, {x})
    theano.gradient.verify_grad(lambda a: T.nnet.softplus(a) * T.tanh(a), [np.array([0.3, -2.0, 5.0])])
    with pytest.raises(GradientError):
        bad = lambda a: T.nnet.ultra_fast_sigmoid(a) * 10  # noqa: E731 - a surrogate gradient
        theano.gradient.verify_grad(bad, [np.array([0.3, -1.2])])
    p = T.dmatrix("p")
    lab = T.dvector("lab")
    with pytest.raises(NullTypeGradError, match="CrossentropyCategorical1Hot"):
        T.grad(T.nnet.crossentropy_categorical_1hot(p, T.cast(lab, "int64")).sum(), lab)


def test_printing():
    x = T.dvector("x")
    out = T.nnet.sigmoid(x * 2)
    text = theano.printing.debugprint(out, file="str")
    assert text.splitlines()[0] == "sigmoid [id A] ''   "
    assert theano.pp(out) == "sigmoid((x * TensorConstant{2}))"
    f = theano.function([x], out)
    assert "sigmoid" in theano.printing.debugprint(f, file="str")


def test_errors_are_python_exceptions():
    with pytest.raises(ValueError, match="Got TensorType\\(int32, vector\\)"):
        T.nnet.softmax(T.ivector())
    with pytest.raises(TypeError, match="rank mismatch"):
        T.nnet.categorical_crossentropy(T.dmatrix(), T.dtensor3())
    m = T.dmatrix("m")
    f = theano.function([m], m + m.T)
    with pytest.raises(ValueError, match="Input dimension mis-match"):
        f(np.zeros((2, 3)))
    p = T.dmatrix("p")
    y = T.lvector("y")
    g = theano.function([p, y], T.nnet.categorical_crossentropy(T.nnet.softmax(p), y))
    with pytest.raises(ValueError, match="out of bounds"):
        g(np.zeros((2, 3)), np.array([0, 7]))
    with pytest.raises(theano.MissingInputError):
        theano.function([m], m + T.dmatrix("other"))
    with pytest.raises(theano.UnusedInputError):
        theano.function([m, p], m * 2)
    with pytest.raises(TypeError, match="cannot store a value of dtype complex128"):
        theano.function([m], m * 2)(np.zeros((2, 2), dtype=np.complex128))


def test_threads_share_a_compiled_function():
    x = T.dvector("x")
    f = theano.function([x], T.nnet.sigmoid(x).sum())
    data = np.random.RandomState(0).randn(200_000)
    want = f(data)
    results = []

    def work():
        for _ in range(5):
            results.append(f(data))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and all(r == want for r in results)


def test_floatx_config():
    assert theano.config.floatX == "float64"
    theano.config.floatX = "float32"
    try:
        assert T.vector().dtype == "float32"
        assert (T.fvector() + 0.1).dtype == "float32"
    finally:
        theano.config.floatX = "float64"
    with pytest.raises(ValueError):
        theano.config.floatX = "int8"


def test_modes_and_opt_in_rewrites():
    x = T.dvector("x")
    f = theano.function([x], T.nnet.sigmoid(x), mode=theano.Mode().including("local_ultra_fast_sigmoid"))
    assert f([1.0]).tolist() == [0.75]
    g = theano.function([x], T.log(T.nnet.sigmoid(x)), mode=theano.Mode(optimizer=None))
    assert g([-800.0]).tolist() == [-np.inf]
    h = theano.function([x], T.log(T.nnet.sigmoid(x)), mode="FAST_COMPILE")
    assert h([-800.0]).tolist() == [-800.0]


def test_contiguous_inputs_are_read_in_place():
    from rheano import _rheano

    x = T.dmatrix("x")
    f = theano.function([x], [T.nnet.sigmoid(x), x * 2])
    a = np.random.RandomState(0).randn(50, 40)
    before = a.copy()
    # C-contiguous, aligned arrays of the right dtype are read where they are; others are copied.
    assert _rheano._reads_in_place(a)
    assert _rheano._reads_in_place(np.float32(a[:3]))
    assert not _rheano._reads_in_place(a.T)
    assert not _rheano._reads_in_place(a[:, ::2])
    assert not _rheano._reads_in_place(a > 0)
    for arg in (a, np.asfortranarray(a), a[:, ::2].copy(), a[::2]):
        s, d = f(arg)
        np.testing.assert_allclose(s, 1 / (1 + np.exp(-arg)), rtol=1e-15)
        np.testing.assert_array_equal(d, arg * 2)
    # The caller's array is untouched, and the outputs do not alias it.
    np.testing.assert_array_equal(a, before)
    y = theano.function([x], x)(a)
    assert not np.shares_memory(y, a)
    y[0, 0] = 123.0
    assert a[0, 0] == before[0, 0]
    # A read-only array works too.
    ro = a.copy()
    ro.setflags(write=False)
    np.testing.assert_array_equal(f(ro)[1], a * 2)


def test_per_input_allow_downcast_on_arrays():
    x = T.fvector("x")
    f = theano.function([theano.In(x, allow_downcast=True)], x * 2)
    r = f(np.ones(3))
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, [2, 2, 2])
    with pytest.raises(TypeError, match="cannot store a value of dtype float64"):
        theano.function([x], x * 2)(np.ones(3))


def test_threads_per_function():
    x = T.dvector("x")
    a = np.linspace(-30, 30, 200_000)
    want = theano.function([x], T.nnet.softplus(x).sum())(a)
    for n in (1, 2):
        f = theano.function([x], T.nnet.softplus(x).sum(), threads=n)
        np.testing.assert_allclose(f(a), want, rtol=1e-12)
