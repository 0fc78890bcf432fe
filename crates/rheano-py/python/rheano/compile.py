"""theano.function, theano.In, theano.shared and modes, on rheano."""
import numbers
from collections import OrderedDict

import numpy as np

from . import _rheano
from .configparser import config
from .tensor.basic import SUPPORTED, TensorVariable, as_tensor_variable

def _contig(a):
    """`a` in C order (unlike np.ascontiguousarray, keeps 0-d arrays 0-d)."""
    a = np.asarray(a)
    return a if a.flags.c_contiguous else np.array(a, order="C")


MissingInputError = _rheano.MissingInputError
UnusedInputError = _rheano.UnusedInputError


class SharedVariable(TensorVariable):
    """A variable holding a value across calls; an implicit input of functions that read it."""

    def get_value(self, borrow=False, return_internal_type=False):
        """A copy of the value (borrow is accepted; the value is always copied out)."""
        return _rheano.get_value(self._v)

    def set_value(self, value, borrow=False):
        """Copies `value` in: same ndim, a dtype that converts without loss (the length may change)."""
        if not isinstance(value, np.ndarray):
            value = np.asarray(value)
            if value.dtype != np.dtype(self.dtype) and np.can_cast(value.dtype, self.dtype, "same_kind"):
                conv = value.astype(self.dtype)
                if np.array_equal(conv, value, equal_nan=value.dtype.kind == "f"):
                    value = conv
        _rheano.set_value(self._v, _contig(value))

    @property
    def container(self):
        return self


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """theano.shared: Python floats become float64 scalars, ints int64, arrays keep their dtype."""
    if isinstance(value, TensorVariable):
        raise TypeError("shared() takes a value, not a symbolic variable")
    if isinstance(value, bool):
        arr = np.asarray(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
        arr = np.asarray(value, dtype="int64")
    elif isinstance(value, float):
        arr = np.asarray(value, dtype="float64")
    else:
        arr = np.array(value)  # a copy: later changes to the caller's array have no effect
    if arr.dtype.name not in SUPPORTED:
        raise TypeError("shared: dtype %s is not supported (rheano has %s)" % (arr.dtype, ", ".join(SUPPORTED)))
    bc = None if broadcastable is None else [bool(b) for b in broadcastable]
    return SharedVariable(_rheano.shared(_contig(arr), name, bc))


class In:
    """theano.In: an input with an optional name and default value."""

    def __init__(self, variable, name=None, value=None, update=None, mutable=None, strict=False,
                 allow_downcast=None, autoname=True, implicit=None, borrow=None, shared=False):
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.update = update
        self.strict = strict
        self.allow_downcast = allow_downcast


class Mode:
    """theano.Mode: the optimizer decides which rewrites run (None: none)."""

    def __init__(self, linker=None, optimizer="fast_run", including=(), excluding=()):
        self.linker = linker
        self.optimizer = optimizer
        self.included = tuple(including)
        self.excluded = tuple(excluding)

    def including(self, *tags):
        """A mode with the named (opt-in) rewrites added, e.g. 'local_ultra_fast_sigmoid'."""
        return Mode(self.linker, self.optimizer, self.included + tags, self.excluded)

    def excluding(self, *tags):
        """A mode without the named rewrites or phases."""
        return Mode(self.linker, self.optimizer, self.included, self.excluded + tags)

    def _name(self):
        if self.optimizer in (None, "None", "NONE"):
            return "NONE"
        if str(self.optimizer).lower() == "fast_compile":
            return "FAST_COMPILE"
        return "FAST_RUN"


FAST_RUN = Mode(optimizer="fast_run")
FAST_COMPILE = Mode(optimizer="fast_compile")


def _mode_name(mode):
    if mode is None:
        return "FAST_RUN"
    if isinstance(mode, Mode):
        return mode._name()
    m = str(mode).upper()
    if m in ("FAST_RUN", "MODE", "DEBUGMODE", "NANGUARDMODE"):
        return "FAST_RUN"
    if m == "FAST_COMPILE":
        return "FAST_COMPILE"
    raise ValueError("No predefined mode exist for string: %s" % mode)


def _pairs(x):
    if x is None:
        return []
    if isinstance(x, dict):
        return list(x.items())
    return [tuple(p) for p in x]


def _filter(value, var, allow_downcast):
    """Theano's TensorType.filter: arrays need a safe dtype; other data must convert losslessly."""
    dtype = var.dtype
    if isinstance(value, np.ndarray):
        if value.dtype.name not in SUPPORTED:
            raise TypeError("%s cannot store a value of dtype %s" % (var.type, value.dtype))
        if allow_downcast and value.dtype.name != dtype:
            return _contig(value.astype(dtype))
        return _contig(value)
    if isinstance(value, float) and dtype == config.floatX:
        return np.asarray(value, dtype=dtype)
    if isinstance(value, TensorVariable):
        raise TypeError("function inputs must be values, got the symbolic variable %s" % value)
    data = np.asarray(value)
    if data.dtype == object:
        raise TypeError("cannot convert %r to an array of %s" % (value, dtype))
    if allow_downcast or data.dtype.name == dtype:
        return _contig(data.astype(dtype))
    conv = data.astype(dtype)
    with np.errstate(invalid="ignore"):
        same = np.array_equal(conv, data, equal_nan=data.dtype.kind == "f" and np.dtype(dtype).kind == "f")
    if same:
        return _contig(conv)
    raise TypeError("%s cannot store accurately value %r, it would be represented as %r. If you do not mind this precision loss, you can: 1) explicitly convert your data to a numpy array of dtype %s, or 2) set allow_input_downcast=True when calling function." % (var.type, value, conv, dtype))


class Function:
    """A compiled function: call it with one value per input (positionally or by name)."""

    def __init__(self, inputs, outputs, single, rust, allow_downcast):
        self._inputs = inputs
        self._single = single
        self._f = rust
        self._allow = allow_downcast
        # Per-input allow_downcast is applied here; without it the engine filters the arrays.
        self._fast = not any(i.allow_downcast and not allow_downcast for i in inputs)
        self._names = {i.name: k for k, i in enumerate(inputs) if i.name}
        self.outputs = outputs
        # Theano's `f.profile`: a ProfileStats when compiled with profile=True, else None.
        self.profile = None

    def __call__(self, *args, **kwargs):
        n = len(self._inputs)
        if self._fast and not kwargs and len(args) == n and all(type(a) is np.ndarray for a in args):
            # Fast path: the engine checks the arrays itself and reads contiguous ones in place.
            out = self._f(list(args))
            return out[0] if self._single else out
        if len(args) > n:
            raise TypeError("Tried to provide %d arguments to a function with %d inputs." % (len(args), n))
        vals = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, v in kwargs.items():
            if key not in self._names:
                raise TypeError("Unknown input or state: %s. The function has %d named inputs (%s)." % (key, len(self._names), ", ".join(self._names)))
            k = self._names[key]
            if given[k]:
                raise TypeError("Multiple values for input: %s" % key)
            vals[k], given[k] = v, True
        for k, inp in enumerate(self._inputs):
            if not given[k]:
                if inp.value is None:
                    raise TypeError("Missing required input: %s" % (inp.name or inp.variable))
                vals[k] = inp.value
        arrays = [_filter(v, inp.variable, self._allow or inp.allow_downcast) for v, inp in zip(vals, self._inputs)]
        out = self._f(arrays)
        return out[0] if self._single else out

    def debugprint(self):
        return self._f.debugprint()


class ProfileStats:
    """theano.compile.profiling.ProfileStats of a function compiled with profile=True: where the
    time of its calls went, step by step."""

    def __init__(self, rust_function):
        self._f = rust_function

    def summary(self, file=None):
        import sys
        print(self._f.profile_summary(), file=file or sys.stderr)


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None,
             profile=None, on_unused_input=None, threads=None):
    """theano.function: compiles outputs as a function of inputs. rheano adds `threads`: the
    number of threads this function's kernels use (default: RAYON_NUM_THREADS, or one per core)."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("Input variables of a Theano function should be contained in a list, even when there is a single input.")
    ins = [i if isinstance(i, In) else In(i) for i in inputs]
    for i in ins:
        if not isinstance(i.variable, TensorVariable):
            raise TypeError("Unknown parameter type: %s" % type(i.variable))
    single = False
    if outputs is None:
        outs = []
    elif isinstance(outputs, (list, tuple)):
        outs = [as_tensor_variable(o) for o in outputs]
    else:
        outs = [as_tensor_variable(outputs)]
        single = True
    ups = []
    for s, u in _pairs(updates):
        if not isinstance(s, SharedVariable):
            raise TypeError("update target must be a SharedVariable")
        ups.append((s._v, as_tensor_variable(u)._v))
    givs = [(a._v, as_tensor_variable(b)._v) for a, b in _pairs(givens)]
    inc = list(mode.included) if isinstance(mode, Mode) else []
    exc = list(mode.excluded) if isinstance(mode, Mode) else []
    rust = _rheano.compile([i.variable._v for i in ins], [o._v for o in outs], ups, givs,
                           on_unused_input or "raise", bool(allow_input_downcast), _mode_name(mode), inc, exc,
                           threads, bool(profile))
    f = Function(ins, outs, single, rust, bool(allow_input_downcast))
    if profile:
        f.profile = ProfileStats(rust)
    return f
