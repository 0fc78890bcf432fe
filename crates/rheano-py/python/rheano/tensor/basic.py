"""Theano's tensor module on rheano: types, variables, constructors and operations."""
import numbers

import numpy as np

from .. import _rheano
from ..configparser import config

def _contig(a):
    """`a` in C order (unlike np.ascontiguousarray, keeps 0-d arrays 0-d)."""
    a = np.asarray(a)
    return a if a.flags.c_contiguous else np.array(a, order="C")


SUPPORTED = ("bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64")


class AsTensorError(TypeError):
    """Raised when a Python object cannot become a tensor."""


def _wrap(v):
    return TensorVariable(v)


def _wrap_all(vs):
    return [TensorVariable(v) for v in vs]


def _literal_dtype(x):
    """Theano's typing of Python numbers (spec 1.5, cast_policy='custom')."""
    if isinstance(x, (bool, np.bool_)) and isinstance(x, bool):
        raise AsTensorError("Cannot cast True or False as a tensor variable. Please use np.array(True) or np.array(False) if you need these constants.")
    if isinstance(x, numbers.Integral) and not isinstance(x, np.integer):
        for d in ("int8", "int16", "int32", "int64"):
            info = np.iinfo(d)
            if info.min <= x <= info.max:
                return d
        raise AsTensorError("integer %d does not fit in int64" % x)
    if isinstance(x, float):
        if config.floatX == "float32":
            return "float32"
        with np.errstate(over="ignore"):
            return "float32" if float(np.float32(x)) == x else "float64"
    return None


def as_tensor_variable(x, name=None, ndim=None):
    """A TensorVariable for x: variables as they are, numbers typed as Theano types Python
    literals, numpy scalars and arrays with their own dtype, lists via numpy."""
    if isinstance(x, TensorVariable):
        out = x
    elif isinstance(x, (list, tuple)) and any(isinstance(e, TensorVariable) for e in x):
        out = stack([as_tensor_variable(e) for e in x])
    else:
        d = _literal_dtype(x)
        if d is not None:
            with np.errstate(over="ignore"):
                arr = np.asarray(x, dtype=d)
        elif isinstance(x, np.generic):
            arr = np.asarray(x)
        elif isinstance(x, np.ndarray):
            arr = x
        elif isinstance(x, (list, tuple)):
            arr = np.asarray(x)
        else:
            raise AsTensorError("Cannot convert %r to TensorType" % (x,))
        if arr.dtype.name not in SUPPORTED:
            if arr.dtype.kind == "f":
                arr = arr.astype("float64")
            elif arr.dtype.kind in "iu":
                arr = arr.astype("int64")
            else:
                raise AsTensorError("Cannot convert %r: dtype %s is not supported" % (x, arr.dtype))
        out = _wrap(_rheano.constant(_contig(arr), name))
    if ndim is not None and out.ndim != ndim:
        raise ValueError("TensorType could not be cast to have %d dimensions" % ndim)
    return out


def constant(x, name=None, ndim=None, dtype=None):
    """A constant tensor (TensorConstant) of x, optionally with a given dtype."""
    if dtype is not None:
        arr = np.asarray(x, dtype=dtype)
        out = _wrap(_rheano.constant(_contig(arr), name))
    else:
        out = as_tensor_variable(x, name=name)
        if name is not None:
            out.name = name
    if ndim is not None and out.ndim != ndim:
        raise ValueError("constant %r has %d dimensions, not %d" % (x, out.ndim, ndim))
    return out


def _v(x):
    return as_tensor_variable(x)._v


class TensorType:
    """A tensor type: dtype and broadcastable pattern. Calling it makes a variable."""

    def __init__(self, dtype, broadcastable, name=None):
        if dtype not in SUPPORTED:
            raise TypeError("Unsupported dtype for TensorType: %s" % (dtype,))
        self.dtype = dtype
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        return _wrap(_rheano.tensor(self.dtype, list(self.broadcastable), name))

    def make_variable(self, name=None):
        return self(name)

    def __eq__(self, other):
        return type(other) is TensorType and other.dtype == self.dtype and other.broadcastable == self.broadcastable

    def __hash__(self):
        return hash((self.dtype, self.broadcastable))

    def __str__(self):
        b = self.broadcastable
        kinds = {(): "scalar", (False,): "vector", (True, False): "row", (False, True): "col", (False, False): "matrix"}
        if b in kinds:
            k = kinds[b]
        elif not any(b):
            k = "%dD" % len(b)
        else:
            k = str(b)
        return "TensorType(%s, %s)" % (self.dtype, k)

    __repr__ = __str__


def _index_entry(item):
    if isinstance(item, (bool, np.bool_)):
        raise IndexError("boolean indices are not supported")
    if isinstance(item, numbers.Integral):
        return ("at", int(item))
    if isinstance(item, slice):
        def b(x):
            if x is None:
                return None
            if isinstance(x, numbers.Integral):
                return int(x)
            return as_tensor_variable(x)._v
        return ("slice", b(item.start), b(item.stop), b(item.step))
    if isinstance(item, (list, np.ndarray)):
        item = as_tensor_variable(np.asarray(item))
    if isinstance(item, TensorVariable):
        if item.ndim == 0:
            return ("at", item._v)
        return ("array", item._v)
    raise IndexError("unsupported index %r" % (item,))


class TensorVariable:
    """A symbolic tensor with Theano's operators, methods and attributes."""

    __array_priority__ = 1000

    def __init__(self, v):
        self._v = v

    # attributes
    @property
    def type(self):
        return TensorType(self._v.dtype, self._v.broadcastable)

    @property
    def dtype(self):
        return self._v.dtype

    @property
    def ndim(self):
        return self._v.ndim

    @property
    def broadcastable(self):
        return tuple(self._v.broadcastable)

    @property
    def name(self):
        return self._v.name

    @name.setter
    def name(self, value):
        self._v.name = value

    @property
    def shape(self):
        return _wrap(_rheano.shape(self._v))

    @property
    def size(self):
        return prod(self.shape)

    @property
    def T(self):
        return transpose(self)

    def __str__(self):
        return str(self._v)

    def __repr__(self):
        return str(self._v)

    def __eq__(self, other):
        return isinstance(other, TensorVariable) and self._v.same(other._v)

    def __hash__(self):
        return hash(self._v.id)

    def __bool__(self):
        raise TypeError("Variables do not support boolean operations.")

    def __iter__(self):
        raise TypeError("TensorType does not support iteration.")

    def __len__(self):
        raise TypeError("Variables do not support len(); use x.shape[0] for the symbolic length.")

    # operators
    def __add__(self, o):
        return add(self, o)

    def __radd__(self, o):
        return add(o, self)

    def __sub__(self, o):
        return sub(self, o)

    def __rsub__(self, o):
        return sub(o, self)

    def __mul__(self, o):
        return mul(self, o)

    def __rmul__(self, o):
        return mul(o, self)

    def __truediv__(self, o):
        return true_div(self, o)

    def __rtruediv__(self, o):
        return true_div(o, self)

    def __floordiv__(self, o):
        return int_div(self, o)

    def __rfloordiv__(self, o):
        return int_div(o, self)

    def __mod__(self, o):
        return mod(self, o)

    def __rmod__(self, o):
        return mod(o, self)

    def __pow__(self, o):
        return pow(self, o)

    def __rpow__(self, o):
        return pow(o, self)

    def __neg__(self):
        return neg(self)

    def __abs__(self):
        return abs_(self)

    def __lt__(self, o):
        return lt(self, o)

    def __le__(self, o):
        return le(self, o)

    def __gt__(self, o):
        return gt(self, o)

    def __ge__(self, o):
        return ge(self, o)

    def __and__(self, o):
        return and_(self, o)

    def __or__(self, o):
        return or_(self, o)

    def __invert__(self):
        return invert(self)

    def __getitem__(self, args):
        if not isinstance(args, tuple):
            args = (args,)
        if any(a is None for a in args) or any(a is Ellipsis for a in args):
            raise IndexError("None (newaxis) and Ellipsis in indices are not supported; use dimshuffle")
        return _wrap(_rheano.index(self._v, [_index_entry(a) for a in args]))

    # methods
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False):
        return var(self, axis=axis, keepdims=keepdims)

    def std(self, axis=None, keepdims=False):
        return std(self, axis=axis, keepdims=keepdims)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = pattern[0]
        return dimshuffle(self, pattern)

    def transpose(self, *axes):
        if not axes:
            return transpose(self)
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return dimshuffle(self, list(axes))

    def reshape(self, shape, ndim=None):
        return reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1, outdim=None):
        return flatten(self, outdim or ndim)

    def astype(self, dtype):
        return cast(self, dtype)

    def dot(self, other):
        return dot(self, other)

    def clip(self, a_min, a_max):
        return clip(self, a_min, a_max)

    def nonzero_values(self):
        raise NotImplementedError("nonzero_values is not supported by rheano")

    def eval(self, inputs_to_values=None):
        """Compiles and runs a one-off function of the given inputs."""
        from ..compile import function
        inputs_to_values = inputs_to_values or {}
        keys = list(inputs_to_values.keys())
        f = function(keys, self, on_unused_input="ignore")
        return f(*[inputs_to_values[k] for k in keys])


class TensorConstant(TensorVariable):
    """Marker type for constants (isinstance checks in user code)."""


# ---------------------------------------------------------------- constructors
_PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64"}
_KINDS = {
    "scalar": (), "vector": (False,), "row": (True, False), "col": (False, True), "matrix": (False, False),
    "tensor3": (False,) * 3, "tensor4": (False,) * 4, "tensor5": (False,) * 5, "tensor6": (False,) * 6, "tensor7": (False,) * 7,
}
_PLURAL = {"scalar": "scalars", "vector": "vectors", "row": "rows", "col": "cols", "matrix": "matrices",
           "tensor3": "tensor3s", "tensor4": "tensor4s", "tensor5": "tensor5s", "tensor6": "tensor6s", "tensor7": "tensor7s"}


def tensor(*args, **kwargs):
    """T.tensor(dtype, broadcastable, name=None)."""
    name = kwargs.pop("name", None)
    return TensorType(*args, **kwargs)(name)


def _make_unprefixed(kind, bcast):
    def ctor(name=None, dtype=None):
        return TensorType(dtype or config.floatX, bcast)(name)
    ctor.__name__ = kind
    ctor.__doc__ = "A %s variable of dtype floatX (or `dtype`)." % kind
    return ctor


def _make_plural(make):
    def ctor(*names, **kw):
        if len(names) == 1 and isinstance(names[0], numbers.Integral):
            return [make(None) for _ in range(names[0])]
        if len(names) == 1 and isinstance(names[0], str) and "," not in names[0]:
            return make(names[0])
        if len(names) == 1 and isinstance(names[0], str):
            names = [n.strip() for n in names[0].split(",")]
        return [make(n) for n in names]
    return ctor


_g = globals()
for _kind, _b in _KINDS.items():
    _g[_kind] = _make_unprefixed(_kind, _b)
    _g[_PLURAL[_kind]] = _make_plural(lambda n, _kind=_kind: _g[_kind](n))
    for _p, _dt in _PREFIX.items():
        _g[_p + _kind] = TensorType(_dt, _b)
        if _p in "fdil":
            _g[_p + _PLURAL[_kind]] = _make_plural(lambda n, t=_g[_p + _kind]: t(n))


# ---------------------------------------------------------------- elementwise
def _ew(name, *args):
    return _wrap(_rheano.elemwise(name, [_v(a) for a in args]))


def add(*args):
    out = args[0]
    for a in args[1:]:
        out = _ew("add", out, a)
    return as_tensor_variable(out)


def mul(*args):
    out = args[0]
    for a in args[1:]:
        out = _ew("mul", out, a)
    return as_tensor_variable(out)


def sub(a, b): return _ew("sub", a, b)
def true_div(a, b): return _ew("true_div", a, b)
def int_div(a, b): return _ew("int_div", a, b)
def floor_div(a, b): return _ew("int_div", a, b)
def mod(a, b): return _ew("mod", a, b)
def pow(a, b): return _ew("pow", a, b)
def neg(a): return _ew("neg", a)
def abs_(a): return _ew("abs", a)
def sgn(a): return _ew("sgn", a)
def exp(a): return _ew("exp", a)
def log(a): return _ew("log", a)
def log1p(a): return _ew("log1p", a)
def expm1(a): return _ew("expm1", a)
def sqrt(a): return _ew("sqrt", a)
def sqr(a): return _ew("sqr", a)
def tanh(a): return _ew("tanh", a)
def sin(a): return _ew("sin", a)
def cos(a): return _ew("cos", a)
def inv(a): return _ew("inv", a)
def maximum(a, b): return _ew("maximum", a, b)
def minimum(a, b): return _ew("minimum", a, b)
def gt(a, b): return _ew("gt", a, b)
def lt(a, b): return _ew("lt", a, b)
def ge(a, b): return _ew("ge", a, b)
def le(a, b): return _ew("le", a, b)
def eq(a, b): return _ew("eq", a, b)
def neq(a, b): return _ew("neq", a, b)
def and_(a, b): return _ew("and", a, b)
def or_(a, b): return _ew("or", a, b)
def invert(a): return _ew("invert", a)
def switch(cond, ift, iff): return _ew("switch", cond, ift, iff)
def clip(x, lo, hi): return _ew("clip", x, lo, hi)
def fill(model, value): return _ew("fill", model, value)


second = fill
reciprocal = inv
abs = abs_
where = switch
divide = true_div


def sqr_(a):
    return sqr(a)


def cast(x, dtype):
    """Converts x to dtype (x itself when it already has it)."""
    if dtype == "floatX":
        dtype = config.floatX
    x = as_tensor_variable(x)
    if x.dtype == dtype:
        return x
    if dtype not in SUPPORTED:
        raise TypeError("cast: unsupported dtype %r" % (dtype,))
    return _wrap(_rheano.cast(x._v, dtype))


def zeros_like(model, dtype=None):
    model = as_tensor_variable(model)
    return fill(model, constant(0.0, dtype=dtype or model.dtype))


def ones_like(model, dtype=None):
    model = as_tensor_variable(model)
    return fill(model, constant(1.0, dtype=dtype or model.dtype))


def alloc(value, *shape):
    return _wrap(_rheano.alloc(_v(value), [_v(s) for s in shape]))


def zeros(shape, dtype=None):
    if not isinstance(shape, (list, tuple)):
        shape = [shape]
    return alloc(constant(0.0, dtype=dtype or config.floatX), *shape)


def ones(shape, dtype=None):
    if not isinstance(shape, (list, tuple)):
        shape = [shape]
    return alloc(constant(1.0, dtype=dtype or config.floatX), *shape)


# ---------------------------------------------------------------- reductions
def _axis(axis):
    if axis is None:
        return None
    if isinstance(axis, numbers.Integral):
        return [int(axis)]
    return [int(a) for a in axis]


def _reduce(kind, x, axis, keepdims):
    return _wrap(_rheano.reduce(kind, _v(x), _axis(axis), bool(keepdims)))


def sum(input, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    out = _reduce("sum", input, axis, keepdims)
    return cast(out, dtype) if dtype else out


def prod(input, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    out = _reduce("prod", input, axis, keepdims)
    return cast(out, dtype) if dtype else out


def mean(input, axis=None, dtype=None, op=False, keepdims=False, acc_dtype=None):
    out = _reduce("mean", input, axis, keepdims)
    return cast(out, dtype) if dtype else out


def max(x, axis=None, keepdims=False):
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce("min", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    return _reduce("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _reduce("argmin", x, axis, keepdims)


def max_and_argmax(a, axis=None, keepdims=False):
    return [max(a, axis, keepdims), argmax(a, axis, keepdims)]


def var(input, axis=None, keepdims=False):
    input = as_tensor_variable(input)
    m = mean(input, axis=axis, keepdims=True)
    return mean(sqr(input - m), axis=axis, keepdims=keepdims)


def std(input, axis=None, keepdims=False):
    return sqrt(var(input, axis=axis, keepdims=keepdims))


# ---------------------------------------------------------------- structure
def dot(a, b):
    return _wrap(_rheano.dot(_v(a), _v(b)))


def outer(x, y):
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    return dot(x.dimshuffle(0, "x"), y.dimshuffle("x", 0))


def dimshuffle(x, pattern):
    order = [None if p == "x" else int(p) for p in pattern]
    return _wrap(_rheano.dimshuffle(_v(x), order))


def transpose(x, axes=None):
    x = as_tensor_variable(x)
    if axes is None:
        axes = list(range(x.ndim))[::-1]
    return dimshuffle(x, list(axes))


def shape(x):
    return as_tensor_variable(x).shape


def reshape(x, newshape, ndim=None):
    x = as_tensor_variable(x)
    if isinstance(newshape, TensorVariable):
        if ndim is None:
            raise ValueError("reshape with a symbolic shape needs ndim")
        return _wrap(_rheano.reshape(x._v, cast(newshape, "int64")._v, int(ndim)))
    if isinstance(newshape, numbers.Integral):
        newshape = (newshape,)
    newshape = list(newshape)
    if all(isinstance(s, numbers.Integral) for s in newshape):
        return _wrap(_rheano.reshape_const(x._v, [int(s) for s in newshape]))
    vec = stack([cast(as_tensor_variable(s), "int64") for s in newshape])
    return _wrap(_rheano.reshape(x._v, vec._v, len(newshape)))


def flatten(x, outdim=1, ndim=None):
    return _wrap(_rheano.flatten(_v(x), int(ndim or outdim)))


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    return _wrap(_rheano.arange(_v(start), _v(stop), _v(step), dtype))


def concatenate(tensor_list, axis=0):
    return _wrap(_rheano.concatenate([_v(t) for t in tensor_list], int(axis)))


def join(axis, *tensors):
    return concatenate(tensors, axis)


def stack(*tensors, **kwargs):
    axis = kwargs.get("axis", 0)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return _wrap(_rheano.stack([_v(t) for t in tensors], int(axis)))


def addbroadcast(x, *axes):
    x = as_tensor_variable(x)
    for a in axes:
        if not x.broadcastable[a]:
            raise ValueError("addbroadcast: dimension %d is not known to be of length 1 in rheano" % a)
    return x


def unbroadcast(x, *axes):
    return as_tensor_variable(x)
