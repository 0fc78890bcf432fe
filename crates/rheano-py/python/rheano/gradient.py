"""theano.gradient: grad, verify_grad and their errors."""
import numpy as np

from . import _rheano
from .tensor.basic import TensorVariable, _wrap, as_tensor_variable

DisconnectedInputError = _rheano.DisconnectedInputError
NullTypeGradError = _rheano.NullTypeGradError
MethodNotDefined = _rheano.MethodNotDefined


class GradientError(Exception):
    """verify_grad found a gradient that differs from the finite differences."""


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", add_names=True,
         known_grads=None, return_disconnected="zero", null_gradients="raise"):
    """T.grad: gradients of a scalar cost with respect to wrt (same container form)."""
    if isinstance(wrt, set):
        raise TypeError("wrt must not be a set. sets have no order and we need to return gradients in a matching order.")
    single = not isinstance(wrt, (list, tuple))
    ws = [wrt] if single else list(wrt)
    for w in ws:
        if not isinstance(w, TensorVariable):
            raise TypeError("Expected Variable, got %s of type %s" % (w, type(w)))
    if cost is not None:
        cost = as_tensor_variable(cost)
    kg = [(as_tensor_variable(k)._v, as_tensor_variable(v)._v) for k, v in (known_grads or {}).items()]
    cc = [as_tensor_variable(c)._v for c in (consider_constant or [])]
    rd = "zero" if return_disconnected == "zero" else "none"
    out = _rheano.grad(None if cost is None else cost._v, [w._v for w in ws], cc, kg, disconnected_inputs, rd)
    res = [None if g is None else _wrap(g) for g in out]
    if single:
        return res[0]
    return type(wrt)(res) if isinstance(wrt, tuple) else res


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None, rel_tol=None,
                mode=None, cast_to_output_type=False, no_debug_ref=True):
    """Checks grad(fun) at pt against central finite differences (computed in float64)."""
    pt = [np.array(p) for p in pt]
    seed = 42 if rng is None else int(rng.randint(1, 2**31 - 1))

    def f(vars_):
        out = fun(*[_wrap(v) for v in vars_])
        return as_tensor_variable(out)._v

    try:
        _rheano.verify_grad(f, pt, int(n_tests), float(eps or 1e-6), abs_tol, rel_tol, seed)
    except ValueError as e:
        if "gradient mismatch" in str(e):
            raise GradientError(str(e)) from None
        raise


verify_grad.E_grad = GradientError
